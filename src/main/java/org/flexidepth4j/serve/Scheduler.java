package org.flexidepth4j.serve;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.tensor.Matrix;

/**
 * Continuous batching on one thread: up to {@code parallel} sequences are active at once, each in its own KV-cache
 * slot (all allocated at start, so memory is fixed and no request can exhaust it). Each iteration admits waiting
 * sequences into free slots, drops cancelled ones, runs one prefill chunk of at most {@code prefillChunk} tokens
 * for one sequence (so a long prompt never stalls the decoders for long), then one decode step for every decoding
 * sequence together ({@link Transformer#decode}: each weight row read once for all of them; sequences with
 * different skip policies step in separate groups). A sequence that ends leaves at once and frees its slot.
 */
public final class Scheduler implements AutoCloseable {
    /**
     * @param parallel     sequences decoded together at most (1 to {@value #MAX_PARALLEL})
     * @param context      tokens per slot: prompt plus generated
     * @param maxQueue     sequences waiting for a slot at most; more are refused
     * @param prefillChunk prompt tokens run per scheduler iteration
     */
    public record Settings(int parallel, int context, int maxQueue, int prefillChunk) {
        public Settings {
            if (parallel < 1 || parallel > MAX_PARALLEL) throw new IllegalArgumentException("--parallel must be in [1, " + MAX_PARALLEL + "], got " + parallel);
            if (context < 2) throw new IllegalArgumentException("the context must hold at least 2 tokens, got " + context);
            if (maxQueue < 0) throw new IllegalArgumentException("--max-queue must be >= 0, got " + maxQueue);
            if (prefillChunk < 1) throw new IllegalArgumentException("--prefill-chunk must be >= 1, got " + prefillChunk);
        }
    }

    /** Below the Gemm threshold every batched matmul is a dot per row and sequence: the same sums as one sequence alone. */
    public static final int MAX_PARALLEL = Math.min(16, Matrix.GEMM_MIN_TOKENS - 1);

    /** Thrown by {@link #submit} when the queue is full. */
    public static final class QueueFullException extends Exception {
        QueueFullException(String message) {
            super(message);
        }
    }

    private final Transformer transformer;
    private final Settings settings;
    private final Metrics metrics;
    private final InferenceState batch;
    private final InferenceState[] slots;
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    private final LinkedBlockingQueue<Sequence> waiting = new LinkedBlockingQueue<>();
    /** Sequences submitted and not yet ended, active or waiting: at most parallel + maxQueue. */
    private final AtomicInteger admitted = new AtomicInteger();
    private final List<Sequence> active = new ArrayList<>();
    private final Thread thread;
    private volatile boolean running = true;

    public Scheduler(Transformer transformer, Settings settings, Metrics metrics) {
        this.transformer = transformer;
        this.settings = settings;
        this.metrics = metrics;
        long bytes = cacheBytes(transformer, settings);
        long free = Runtime.getRuntime().maxMemory() - (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory());
        if (bytes > free * 0.8) {
            throw new IllegalArgumentException(String.format("the KV caches of %d slots x %d tokens need %.1f MiB, more than 80%% of the free heap (%.1f MiB): lower --parallel or --context, or raise -Xmx",
                    settings.parallel(), settings.context(), bytes / 1048576.0, free / 1048576.0));
        }
        this.batch = transformer.newBatch(settings.parallel());
        this.slots = new InferenceState[settings.parallel()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = transformer.newState(settings.context());
            freeSlots.add(i);
        }
        metrics.cacheBytes(bytes);
        this.thread = Thread.ofPlatform().name("flexidepth-scheduler").daemon().start(this::loop);
    }

    /** Bytes of the KV caches of every slot. */
    public static long cacheBytes(Transformer transformer, Settings settings) {
        var c = transformer.config();
        return 2L * c.numLayers() * Math.min(settings.context(), c.maxPositions()) * c.kvDim() * Float.BYTES * settings.parallel();
    }

    public Settings settings() {
        return settings;
    }

    /** Tokens a slot holds. */
    public int context() {
        return slots[0].contextLength();
    }

    /** Queues a sequence; it starts when a slot is free. */
    public void submit(Sequence s) throws QueueFullException {
        if (!running) throw new QueueFullException("the server is shutting down");
        if (s.prompt.length + 1 > context()) throw new IllegalArgumentException("prompt of " + s.prompt.length + " tokens does not fit the context of " + context());
        if (admitted.incrementAndGet() > slots.length + settings.maxQueue()) {
            admitted.decrementAndGet();
            throw new QueueFullException("all " + slots.length + " slots are busy and the queue of " + settings.maxQueue() + " is full");
        }
        waiting.add(s);
        metrics.queueDepth(waiting.size());
    }

    public int waitingCount() {
        return waiting.size();
    }

    /** Refuses new sequences and returns when the active and waiting ones are done (or cancelled). */
    @Override
    public void close() {
        running = false;
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void loop() {
        while (running || !active.isEmpty() || !waiting.isEmpty()) {
            try {
                admit();
                if (active.isEmpty()) {
                    Sequence s = waiting.poll(50, TimeUnit.MILLISECONDS);
                    if (s != null) start(s);
                } else {
                    prefillStep();
                    decodeStep();
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException | Error e) {
                // an engine failure ends the sequences it touched, not the server
                System.err.println("flexidepth serve: scheduler step failed: " + e);
                for (Sequence s : List.copyOf(active)) end(s, "error");
            }
            metrics.active(active.size());
            metrics.queueDepth(waiting.size());
        }
    }

    private void admit() {
        active.removeIf(s -> {
            if (!s.cancelled()) return false;
            release(s, "cancelled");
            return true;
        });
        while (!freeSlots.isEmpty()) {
            Sequence s = waiting.poll();
            if (s == null) break;
            start(s);
        }
    }

    private void start(Sequence s) {
        if (s.cancelled()) {
            admitted.decrementAndGet();
            metrics.finished("cancelled");
            s.finish("cancelled");
            return;
        }
        s.slot = freeSlots.pop();
        s.state = slots[s.slot];
        s.state.reset();
        active.add(s);
    }

    private void prefillStep() {
        for (Sequence s : active) {
            if (s.nextInput >= 0) continue;
            int n = Math.min(settings.prefillChunk(), s.prompt.length - s.prefilled);
            transformer.forward(s.state, s.prompt, s.prefilled, n, s.policy, false);
            s.prefilled += n;
            metrics.promptTokens(n);
            if (s.prefilled == s.prompt.length) {
                int id = s.sampler.sample(s.state.logits(), 0, s.history, s.prompt.length);
                String reason = s.accept(id, s.state.layersUsed(n - 1), s.state.length() >= s.state.contextLength());
                metrics.generated(1, s.state.layersUsed(n - 1));
                if (reason != null) end(s, reason);
            }
            return; // one chunk per iteration: the decoders wait for at most one
        }
    }

    private void decodeStep() {
        Map<SkipPolicy, List<Sequence>> groups = new IdentityHashMap<>();
        for (Sequence s : active) if (s.nextInput >= 0) groups.computeIfAbsent(s.policy, p -> new ArrayList<>()).add(s);
        for (var entry : groups.entrySet()) {
            List<Sequence> group = entry.getValue();
            int n = group.size();
            InferenceState[] states = new InferenceState[n];
            int[] tokens = new int[n];
            for (int i = 0; i < n; i++) {
                states[i] = group.get(i).state;
                tokens[i] = group.get(i).nextInput;
            }
            long start = System.nanoTime();
            transformer.decode(batch, states, tokens, n, entry.getKey());
            metrics.decodeStep(n, System.nanoTime() - start);
            int vocab = transformer.config().vocabSize();
            for (int i = 0; i < n; i++) {
                Sequence s = group.get(i);
                int id = s.sampler.sample(batch.logits(), i * vocab, s.history, s.prompt.length + s.generated);
                int layers = batch.layersUsed(i);
                metrics.generated(1, layers);
                String reason = s.accept(id, layers, s.state.length() >= s.state.contextLength());
                if (reason != null) end(s, reason);
            }
        }
    }

    private void end(Sequence s, String reason) {
        active.remove(s);
        release(s, reason);
    }

    private void release(Sequence s, String reason) {
        freeSlots.push(s.slot);
        s.slot = -1;
        s.state = null;
        admitted.decrementAndGet();
        metrics.finished(reason);
        s.finish(reason);
    }
}
