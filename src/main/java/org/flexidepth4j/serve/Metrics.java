package org.flexidepth4j.serve;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Counters and gauges of a running server, rendered in the Prometheus text format by {@link #prometheus}. */
public final class Metrics {
    private final int numLayers;
    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> finished = new ConcurrentHashMap<>();
    private final LongAdder promptTokens = new LongAdder();
    private final LongAdder generatedTokens = new LongAdder();
    private final LongAdder layersUsed = new LongAdder();
    private final LongAdder decodeSteps = new LongAdder();
    private final LongAdder decodeNanos = new LongAdder();
    private final LongAdder decodeRows = new LongAdder();
    private volatile double decodeTokensPerSecond;
    private volatile int queueDepth;
    private volatile int active;
    private volatile long cacheBytes;

    public Metrics(int numLayers) {
        this.numLayers = numLayers;
    }

    void request(String path, int status) {
        requests.computeIfAbsent(path + "\u0000" + status, k -> new LongAdder()).increment();
    }

    /** A sequence ended: "stop", "length", "cancelled" or "error". */
    void finished(String reason) {
        finished.computeIfAbsent(reason, k -> new LongAdder()).increment();
    }

    void promptTokens(int n) {
        promptTokens.add(n);
    }

    void generated(int tokens, int layers) {
        generatedTokens.add(tokens);
        layersUsed.add(layers);
    }

    /**
     * One batched decode step of {@code rows} sequences; the tokens/s gauge is an exponential average over steps
     * (weight 1/8 for the newest), so it follows the load within a few steps.
     */
    void decodeStep(int rows, long nanos) {
        decodeSteps.increment();
        decodeRows.add(rows);
        decodeNanos.add(nanos);
        double rate = rows / Math.max(1e-9, nanos * 1e-9);
        double old = decodeTokensPerSecond;
        decodeTokensPerSecond = old == 0 ? rate : old + (rate - old) / 8;
    }

    void queueDepth(int n) {
        queueDepth = n;
    }

    void active(int n) {
        active = n;
    }

    void cacheBytes(long bytes) {
        cacheBytes = bytes;
    }

    public long generatedTokens() {
        return generatedTokens.sum();
    }

    /** Mean layers run per generated token so far (0 before any). */
    public double meanLayersUsed() {
        long n = generatedTokens.sum();
        return n == 0 ? 0 : (double) layersUsed.sum() / n;
    }

    public String prometheus() {
        StringBuilder b = new StringBuilder();
        b.append("# HELP flexidepth_requests_total HTTP requests by path and status.\n# TYPE flexidepth_requests_total counter\n");
        Map<String, Long> sorted = new TreeMap<>();
        requests.forEach((k, v) -> sorted.put(k, v.sum()));
        sorted.forEach((k, v) -> {
            String[] parts = k.split("\u0000");
            b.append("flexidepth_requests_total{path=\"").append(parts[0]).append("\",status=\"").append(parts[1]).append("\"} ").append(v).append('\n');
        });
        b.append("# HELP flexidepth_sequences_total Sequences ended, by finish reason.\n# TYPE flexidepth_sequences_total counter\n");
        new TreeMap<>(finished).forEach((k, v) -> b.append("flexidepth_sequences_total{finish=\"").append(k).append("\"} ").append(v.sum()).append('\n'));
        metric(b, "prompt_tokens_total", "counter", "Prompt tokens prefilled.", promptTokens.sum());
        metric(b, "generated_tokens_total", "counter", "Tokens generated.", generatedTokens.sum());
        metric(b, "decode_steps_total", "counter", "Batched decode steps.", decodeSteps.sum());
        metric(b, "decode_seconds_total", "counter", "Time spent in batched decode steps.", decodeNanos.sum() * 1e-9);
        long steps = decodeSteps.sum();
        metric(b, "decode_batch_size_mean", "gauge", "Mean sequences per decode step.", steps == 0 ? 0 : (double) decodeRows.sum() / steps);
        metric(b, "decode_tokens_per_second", "gauge", "Aggregate decode tokens per second over recent steps.", decodeTokensPerSecond);
        metric(b, "queue_depth", "gauge", "Requests waiting for a slot.", queueDepth);
        metric(b, "active_sequences", "gauge", "Sequences being prefilled or decoded.", active);
        metric(b, "kv_cache_bytes", "gauge", "Bytes of the KV caches of all slots (allocated at start).", cacheBytes);
        metric(b, "model_layers", "gauge", "Decoder layers of the model.", numLayers);
        double used = meanLayersUsed();
        metric(b, "layers_used_per_token_mean", "gauge", "Mean layers run per generated token.", used);
        metric(b, "layers_skipped_per_token_mean", "gauge", "Mean layers skipped per generated token.", generatedTokens.sum() == 0 ? 0 : numLayers - used);
        return b.toString();
    }

    private static void metric(StringBuilder b, String name, String type, String help, double value) {
        String full = "flexidepth_" + name;
        b.append("# HELP ").append(full).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(full).append(' ').append(type).append('\n');
        b.append(full).append(' ');
        if (value == Math.rint(value) && Math.abs(value) < 1e15) b.append((long) value);
        else b.append(value);
        b.append('\n');
    }
}
