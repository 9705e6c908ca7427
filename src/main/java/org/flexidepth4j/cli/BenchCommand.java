package org.flexidepth4j.cli;

import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.bench.Bench;
import org.flexidepth4j.bench.Roofline;
import org.flexidepth4j.bench.SyntheticModel;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.serve.Scheduler;
import org.flexidepth4j.skip.SkipModes;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "bench", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Measure the machine's ceilings (--roofline) or a model's decode and prefill speed against them.")
public final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--roofline", description = "only measure read bandwidth and FMA peak, and the read bandwidth with 8, 16 and 32 FMAs per 128 bytes")
    boolean roofline;

    @Option(names = "--synthetic", paramLabel = "NAME", description = "random-weight model of a real shape, built in memory: llama-1b")
    String synthetic;

    @Option(names = "--model", paramLabel = "PATH", description = "a model file or directory to measure instead of --synthetic")
    Path model;

    @Option(names = "--dtype", paramLabel = "LIST", split = ",", defaultValue = "bf16",
            description = "weight dtypes of --synthetic, or the --quantize target of --model (bf16, f32, q8_0, q4_0; --synthetic also q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl, iq4_xs and q4_k_m, llama.cpp's Q4_K/Q6_K mix; default: ${DEFAULT-VALUE})")
    List<String> dtypes;

    @Option(names = "--thread-counts", paramLabel = "LIST", split = ",",
            description = "thread counts to measure, e.g. 1,2 (default: the --threads pool size)")
    List<Integer> threadCounts;

    @Option(names = "--decode-tokens", paramLabel = "N", defaultValue = "16", description = "decode steps timed (default: ${DEFAULT-VALUE})")
    int decodeTokens;

    @Option(names = "--prefill-tokens", paramLabel = "N", defaultValue = "512", description = "prompt length timed (default: ${DEFAULT-VALUE})")
    int prefillTokens;

    @Option(names = "--skip", paramLabel = "LIST", split = ",", defaultValue = "none",
            description = "skip modes to compare, e.g. none,forced:0.5 (default = the model's own routers); speedups are relative to the first (forced:P skips each"
                    + " routed layer with probability P while still running router and adapter; default: ${DEFAULT-VALUE})")
    List<String> skipModes;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "1",
            description = "measure the --skip modes N times, interleaved, and report medians and paired speedups vs the first mode (default: ${DEFAULT-VALUE})")
    int repeat;

    @Option(names = "--warm-up", paramLabel = "SECONDS", defaultValue = "3",
            description = "untimed rounds of decode and prefill per skip mode and thread count, at least one, this long and on until 1500 decode steps"
                    + " (up to 4x as long), so the timed runs are JIT-compiled code (default: ${DEFAULT-VALUE})")
    double warmUpSeconds;

    @Option(names = "--skip-seed", paramLabel = "S", defaultValue = "1", description = "seed of random and forced skipping (default: ${DEFAULT-VALUE})")
    long skipSeed;

    @Option(names = "--json", description = "print the full results as JSON (every field) instead of a table")
    boolean json;

    @Option(names = "--streams", paramLabel = "LIST", split = ",",
            description = "instead of the single-stream run: aggregate decode tokens/s of this many sequences decoded together"
                    + " (continuous batching, as serve runs them), e.g. 1,2,4,8, with speedups against 1 stream from the same run")
    List<Integer> streams;

    @Option(names = "--buffer-mib", paramLabel = "N", defaultValue = "1024", description = "size of the bandwidth buffer (default: ${DEFAULT-VALUE})")
    long bufferMib;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        List<Integer> counts = threadCounts != null ? threadCounts : List.of(Parallel.pool().threads());
        long buffer = bufferMib << 20;
        List<Object> results = new ArrayList<>();
        int poolSize = Parallel.pool().threads();
        try {
            measure(counts, buffer, results);
        } finally {
            Parallel.setThreads(poolSize);
        }
        if (json) out.println(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(results.size() == 1 ? results.get(0) : results));
        else out.print(table(results));
        out.flush();
        return 0;
    }

    private void measure(List<Integer> counts, long buffer, List<Object> results) {
        if (roofline) {
            for (int threads : counts) {
                Parallel.setThreads(threads);
                results.add(Roofline.withCompute(buffer, 5));
            }
        } else if (synthetic != null || model != null) {
            if (decodeTokens < 1 || prefillTokens < 2) throw new IllegalArgumentException("--decode-tokens must be >= 1 and --prefill-tokens >= 2");
            if (repeat < 1) throw new IllegalArgumentException("--repeat must be >= 1");
            if (!(warmUpSeconds >= 0)) throw new IllegalArgumentException("--warm-up must be >= 0");
            for (String name : dtypes) {
                boolean q4km = synthetic != null && name.equalsIgnoreCase("q4_k_m");
                DType dtype = q4km ? DType.Q4_K : parseDtype(name);
                try (Arena arena = Arena.ofShared()) {
                    var m = q4km ? SyntheticModel.buildQ4KM(SyntheticModel.named(synthetic), arena, 1)
                            : synthetic != null ? SyntheticModel.build(SyntheticModel.named(synthetic), dtype, arena, 1) : ModelLoader.load(model);
                    if (synthetic == null && (dtype == DType.Q8_0 || dtype == DType.Q4_0)) m = ModelLoader.quantize(m, dtype);
                    List<Bench.Mode> modes = new ArrayList<>();
                    for (String mode : skipModes) modes.add(new Bench.Mode(mode, SkipModes.parse(mode, m, null, skipSeed)));
                    if (streams != null) {
                        for (int s : streams) {
                            if (s < 1 || s > Scheduler.MAX_PARALLEL) throw new IllegalArgumentException("--streams: each count must be in [1, " + Scheduler.MAX_PARALLEL + "], got " + s);
                        }
                        for (int threads : counts) {
                            Parallel.setThreads(threads);
                            for (Bench.Mode mode : modes) results.add(Bench.batched(m, mode.name(), mode.policy(), streams, decodeTokens, repeat));
                        }
                    } else {
                        results.addAll(Bench.compare(m, modes, counts, decodeTokens, prefillTokens, repeat, buffer, warmUpSeconds));
                    }
                }
            }
        } else {
            throw new IllegalArgumentException("give --roofline, --synthetic NAME or --model PATH");
        }
    }

    /** One line per measurement: the roofline's bandwidth and FMA peak, or a model run's speeds against its ceilings. */
    static String table(List<Object> results) {
        StringBuilder b = new StringBuilder();
        if (!results.isEmpty() && results.getFirst() instanceof Roofline) {
            b.append(String.format("%7s %11s %12s  %s%n", "threads", "read GB/s", "FMA GFLOP/s", "read GB/s with 8/16/32 FMAs per 128 B"));
            for (Object o : results) {
                Roofline r = (Roofline) o;
                StringBuilder loaded = new StringBuilder();
                for (Roofline.LoadedRead l : r.readWithCompute()) loaded.append(String.format("%s%.1f", loaded.isEmpty() ? "" : " / ", l.readGBps()));
                b.append(String.format("%7d %11.1f %12.1f  %s%n", r.threads(), r.readGBps(), r.fmaGflops(), loaded));
            }
            return b.toString();
        }
        if (!results.isEmpty() && results.getFirst() instanceof Bench.BatchResult) {
            b.append(String.format("%-24s %-10s %-12s %7s %7s %11s %8s %15s %11s%n", "model", "dtype", "skip", "threads", "streams",
                    "decode tok/s", "speedup", "tok per CPU s", "CPU speedup"));
            for (Object o : results) {
                Bench.BatchResult r = (Bench.BatchResult) o;
                for (Bench.BatchRun run : r.runs()) {
                    b.append(String.format("%-24s %-10s %-12s %7d %7d %11.2f %7.2fx %15s %11s%n", r.model(), r.dtype(), r.skip(), r.threads(),
                            run.streams(), run.tokensPerSecond(), run.speedup(), run.cpuTokensPerSecond() == null ? "-" : String.format("%.2f", run.cpuTokensPerSecond()),
                            run.cpuSpeedup() == null ? "-" : String.format("%.2fx", run.cpuSpeedup())));
                }
            }
            return b.toString();
        }
        b.append(String.format("%-24s %-10s %-12s %7s %11s %8s %8s %8s %12s %8s%n", "model", "dtype", "skip", "threads", "decode tok/s",
                "of bound", "layers", "speedup", "prefill tok/s", "of bound"));
        for (Object o : results) {
            Bench.Result r = (Bench.Result) o;
            for (Bench.Run run : r.runs()) {
                b.append(String.format("%-24s %-10s %-12s %7d %11.2f %7.0f%% %8.2f %7.2fx %12.1f %7.0f%%%n", r.model(), r.dtype(), r.skip(), run.threads(),
                        run.decodeTokensPerSecond(), 100 * run.decodeFraction(), run.decodeLayersUsed(), run.decodeSpeedup(),
                        run.prefillTokensPerSecond(), 100 * run.prefillFraction()));
            }
        }
        return b.toString();
    }

    private static DType parseDtype(String name) {
        try {
            return DType.valueOf(name.toUpperCase());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown dtype '" + name + "' (expected bf16, f32, q8_0, q4_0, or for --synthetic also a quantized GGUF type with a kernel, or q4_k_m)");
        }
    }
}
