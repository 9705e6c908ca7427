package org.flexidepth4j.bench;

import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Kernels;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.tensor.Parallel;

/**
 * Decode and prefill speed of a model, each against its roofline ceiling measured on the same machine with the
 * same thread count: decode must stream every weight once per token (ceiling = read bandwidth / weight bytes per
 * token); prefill is arithmetic-bound (ceiling = FMA peak / FLOPs per token, FLOPs counted by the model's
 * {@link org.flexidepth4j.model.WorkCounter}, attention included). Several skip modes are compared in interleaved
 * repetitions (every mode's decode back to back, then every mode's prefill; the next repetition starts at the next
 * mode), so a machine whose load drifts slows every mode alike; rates are medians over the repetitions and speedups
 * medians of the per-repetition ratios to the first mode.
 * Results are records, serializable with Jackson.
 */
public final class Bench {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /**
     * Default untimed warm-up per mode and thread count ({@link #warmUp}): tinylm-12l's
     * decode needs ~1000 tokens before C2 has compiled its forward pass, and its first 64 timed tokens after one
     * 16-token round ran at a third to a half of the settled rate.
     */
    public static final double WARM_UP_SECONDS = 3;

    private Bench() {
    }

    /** A skip mode to measure: its --skip spelling and the policy it parsed to. */
    public record Mode(String name, SkipPolicy policy) {
    }

    /**
     * One thread count's measurements. Rates are tokens per second (medians over the repetitions); fractions are
     * measured / ceiling. Decode FLOPs and bytes per token are those the engine executed and read ({@link
     * org.flexidepth4j.model.WorkCounter}: weights once per matmul, plus the KV cache attention reads).
     *
     * @param decodeTokensPerSecondRuns  the decode rate of every repetition, in order
     * @param decodeCpuTokensPerSecond   1 thread only (else null): tokens per CPU second of the measuring thread,
     *                                   which time-slicing by other processes on a loaded machine does not inflate
     * @param decodeSpeedup              median over repetitions of this mode's decode rate / the first mode's
     * @param decodeCpuSpeedup           the same from CPU time (1 thread only, else null)
     * @param predictedSpeedupFlops      the first mode's decode FLOPs per token / this mode's
     * @param predictedSpeedupBytes      the first mode's decode bytes per token / this mode's
     * @param decodeBound                "memory" when the first mode's decode bytes take longer at the measured read
     *                                   bandwidth than its FLOPs at the FMA peak, else "compute": which prediction applies
     * @param predictedSpeedup           the prediction of that bound
     */
    public record Run(int threads, Roofline roofline, double decodeTokensPerSecond, List<Double> decodeTokensPerSecondRuns,
                      Double decodeCpuTokensPerSecond, double decodeCeiling, double decodeFraction, double decodeFlopsPerToken,
                      double decodeBytesPerToken, double decodeLayersUsed, double decodeSpeedup, Double decodeCpuSpeedup,
                      double predictedSpeedupFlops, double predictedSpeedupBytes, String decodeBound, double predictedSpeedup,
                      int prefillTokens, double prefillTokensPerSecond, double prefillCeiling, double prefillFraction, double prefillGflops) {
    }

    /**
     * @param skip                skip mode the runs used ({@code none} = dense)
     * @param repeats             interleaved repetitions behind each median
     * @param weightBytesPerToken bytes of weights read per decoded token by a dense step (all layer matrices and the
     *                            LM head); the decode ceiling uses it, so a skipping run can exceed fraction 1
     * @param kernels             which kernels ran ({@code Kernels.describe()}, e.g. "native AVX2, q8 activations")
     */
    public record Result(String model, String dtype, String skip, int repeats, long parameters, long weightBytesPerToken, String kernels, List<Run> runs) {
    }

    /**
     * Measures {@code model} densely at each thread count: {@code decodeTokens} single-token steps after a short
     * prompt, then one prefill of {@code prefillTokens} tokens. Leaves the pool at the last thread count.
     */
    public static Result run(Model model, List<Integer> threadCounts, int decodeTokens, int prefillTokens, long rooflineBufferBytes) {
        return compare(model, List.of(new Mode("none", SkipPolicy.NONE)), threadCounts, decodeTokens, prefillTokens, 1, rooflineBufferBytes, WARM_UP_SECONDS).get(0);
    }

    /**
     * Measures every mode at each thread count, {@code repeats} times interleaved, after untimed warm-up rounds
     * of every mode ({@link #warmUp}: decode and prefill for at least {@code warmUpSeconds} each), so no mode's timing
     * includes JIT compilation of its code path. One result per mode, in order;
     * speedups are relative to the first mode. Leaves the pool at the last thread count.
     */
    public static List<Result> compare(Model model, List<Mode> modes, List<Integer> threadCounts, int decodeTokens, int prefillTokens,
                                       int repeats, long rooflineBufferBytes, double warmUpSeconds) {
        if (modes.isEmpty() || repeats < 1) throw new IllegalArgumentException("need at least one mode and one repetition");
        Transformer tf = model.transformer();
        ModelWeights w = tf.weights();
        int vocab = tf.config().vocabSize();
        int[] prefillIds = randomIds(prefillTokens, vocab);
        List<List<Run>> runs = new ArrayList<>();
        for (int m = 0; m < modes.size(); m++) runs.add(new ArrayList<>());
        for (int threads : threadCounts) {
            Parallel.setThreads(threads);
            Roofline roof = Roofline.measure(rooflineBufferBytes, 3);
            for (Mode mode : modes) warmUp(tf, mode.policy(), decodeTokens, prefillTokens, warmUpSeconds);
            Decode[][] decodes = new Decode[modes.size()][repeats];
            double[][] prefills = new double[modes.size()][repeats];
            double[] prefillFlops = new double[modes.size()];
            for (int r = 0; r < repeats; r++) {
                // all decodes of a repetition back to back, so the runs a speedup compares are close in time; each
                // repetition starts at the next mode, so no mode always runs first (right after the prefills)
                for (int i = 0; i < modes.size(); i++) {
                    int m = (r + i) % modes.size();
                    decodes[m][r] = decode(tf, modes.get(m).policy(), decodeTokens);
                }
                for (int m = 0; m < modes.size(); m++) {
                    InferenceState s = tf.newState(prefillTokens);
                    long start = System.nanoTime();
                    tf.forward(s, prefillIds, 0, prefillTokens, modes.get(m).policy(), false);
                    prefills[m][r] = prefillTokens / ((System.nanoTime() - start) / 1e9);
                    prefillFlops[m] = 2.0 * s.work.total();
                }
            }
            Decode first = decodes[0][0];
            boolean memoryBound = first.bytesPerToken / (roof.readGBps() * 1e9) > first.flopsPerToken / (roof.fmaGflops() * 1e9);
            double decodeCeiling = roof.readGBps() * 1e9 / w.bytesPerToken();
            for (int m = 0; m < modes.size(); m++) {
                Decode d = decodes[m][0];
                double[] wall = new double[repeats], cpu = new double[repeats], ratio = new double[repeats], cpuRatio = new double[repeats];
                for (int r = 0; r < repeats; r++) {
                    wall[r] = decodes[m][r].tokensPerSecond;
                    cpu[r] = decodes[m][r].cpuTokensPerSecond;
                    ratio[r] = wall[r] / decodes[0][r].tokensPerSecond;
                    cpuRatio[r] = cpu[r] / decodes[0][r].cpuTokensPerSecond;
                }
                double rate = median(wall), prefill = median(prefills[m]);
                double prefillCeiling = roof.fmaGflops() * 1e9 / (prefillFlops[m] / prefillTokens);
                double byFlops = first.flopsPerToken / d.flopsPerToken, byBytes = first.bytesPerToken / d.bytesPerToken;
                runs.get(m).add(new Run(threads, roof, rate, Arrays.stream(wall).boxed().toList(), threads == 1 ? median(cpu) : null,
                        decodeCeiling, rate / decodeCeiling, d.flopsPerToken, d.bytesPerToken, d.layersUsed, median(ratio),
                        threads == 1 ? median(cpuRatio) : null, byFlops, byBytes, memoryBound ? "memory" : "compute",
                        memoryBound ? byBytes : byFlops, prefillTokens, prefill, prefillCeiling, prefill / prefillCeiling,
                        prefillFlops[m] * prefill / prefillTokens / 1e9));
            }
        }
        String dtype = w.dtypeMix();
        List<Result> results = new ArrayList<>();
        for (int m = 0; m < modes.size(); m++) {
            results.add(new Result(model.source().toString(), dtype, modes.get(m).name(), repeats, tf.config().parameterCount(), w.bytesPerToken(), Kernels.describe(), runs.get(m)));
        }
        return results;
    }

    /**
     * Command line: {@code Bench <synthetic-name> <dtype,...> <threads,...> [decodeTokens] [prefillTokens]}, e.g.
     * {@code Bench llama-1b BF16,Q8_0,Q4_0 1,2 16 512}; prints one JSON result per dtype. Each synthetic model is
     * built in memory and released before the next.
     */
    public static void main(String[] args) throws Exception {
        ModelConfig config = SyntheticModel.named(args[0]);
        List<Integer> threads = Arrays.stream(args[2].split(",")).map(Integer::parseInt).toList();
        int decodeTokens = args.length > 3 ? Integer.parseInt(args[3]) : 16;
        int prefillTokens = args.length > 4 ? Integer.parseInt(args[4]) : 512;
        for (String dtype : args[1].split(",")) {
            try (Arena arena = Arena.ofShared()) {
                Model model = SyntheticModel.build(config, DType.valueOf(dtype.toUpperCase()), arena, 1);
                Result r = run(model, threads, decodeTokens, prefillTokens, Roofline.DEFAULT_BUFFER_BYTES);
                System.out.println(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(r));
            }
        }
    }

    /**
     * Aggregate decode speed of {@code streams} sequences decoded together ({@link Transformer#decode}, continuous
     * batching), against one stream in the same run.
     *
     * @param tokensPerSecond      median over the repetitions of streams x steps / seconds
     * @param tokensPerSecondRuns  every repetition's rate, in order
     * @param speedup              median over repetitions of this rate / the single stream's rate of the same repetition
     * @param cpuTokensPerSecond   1 thread only (else null): tokens per CPU second of the measuring thread, which
     *                             time-slicing by other processes on a loaded machine does not inflate
     * @param cpuSpeedup           the speedup from CPU time (1 thread only, else null)
     */
    public record BatchRun(int streams, double tokensPerSecond, List<Double> tokensPerSecondRuns, double speedup,
                           Double cpuTokensPerSecond, Double cpuSpeedup) {
    }

    /** Batched decode of one model at one thread count: one row per stream count, the first being 1. */
    public record BatchResult(String model, String dtype, String skip, int threads, int steps, int repeats, List<BatchRun> runs) {
    }

    /**
     * Measures aggregate decode tokens/s at each stream count: each stream its own sequence after a short prompt,
     * {@code steps} batched steps timed. Stream counts run interleaved {@code repeats} times (1 always first, so a
     * speedup compares runs close in time); one untimed pass of each count first.
     */
    public static BatchResult batched(Model model, String skip, SkipPolicy policy, List<Integer> streamCounts, int steps, int repeats) {
        List<Integer> counts = new ArrayList<>(List.of(1));
        for (int s : streamCounts) if (s != 1) counts.add(s);
        Transformer tf = model.transformer();
        Decode[][] rates = new Decode[counts.size()][repeats];
        for (int c = 0; c < counts.size(); c++) batchedDecode(tf, policy, counts.get(c), Math.min(steps, 4));
        for (int r = 0; r < repeats; r++) {
            for (int c = 0; c < counts.size(); c++) rates[c][r] = batchedDecode(tf, policy, counts.get(c), steps);
        }
        boolean oneThread = Parallel.pool().threads() == 1;
        List<BatchRun> runs = new ArrayList<>();
        for (int c = 0; c < counts.size(); c++) {
            double[] wall = new double[repeats], cpu = new double[repeats], ratio = new double[repeats], cpuRatio = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                wall[r] = rates[c][r].tokensPerSecond;
                cpu[r] = rates[c][r].cpuTokensPerSecond;
                ratio[r] = wall[r] / rates[0][r].tokensPerSecond;
                cpuRatio[r] = cpu[r] / rates[0][r].cpuTokensPerSecond;
            }
            runs.add(new BatchRun(counts.get(c), median(wall), Arrays.stream(wall).boxed().toList(), median(ratio),
                    oneThread ? median(cpu) : null, oneThread ? median(cpuRatio) : null));
        }
        return new BatchResult(model.source().toString(), tf.weights().dtypeMix(), skip, Parallel.pool().threads(), steps, repeats, runs);
    }

    /** Tokens per second (wall and CPU) of {@code streams} sequences decoded together for {@code steps} steps after a short prompt each. */
    private static Decode batchedDecode(Transformer tf, SkipPolicy policy, int streams, int steps) {
        int prompt = 6, vocab = tf.config().vocabSize();
        InferenceState[] states = new InferenceState[streams];
        int[][] ids = new int[streams][];
        for (int s = 0; s < streams; s++) {
            ids[s] = randomIds(prompt + steps + s, vocab);
            ids[s] = Arrays.copyOfRange(ids[s], s, ids[s].length); // a different text per stream
            states[s] = tf.newState(prompt + steps);
            tf.forward(states[s], ids[s], 0, prompt, policy, false);
        }
        InferenceState batch = tf.newBatch(streams);
        int[] tokens = new int[streams];
        long cpuStart = THREADS.getCurrentThreadCpuTime(), start = System.nanoTime();
        for (int step = 0; step < steps; step++) {
            for (int s = 0; s < streams; s++) tokens[s] = ids[s][prompt + step];
            tf.decode(batch, states, tokens, streams, policy);
        }
        double seconds = (System.nanoTime() - start) / 1e9, cpuSeconds = (THREADS.getCurrentThreadCpuTime() - cpuStart) / 1e9;
        double n = (double) streams * steps;
        return new Decode(n / seconds, n / cpuSeconds, 0, 0, 0);
    }

    /** Decode rates (wall and CPU time of this thread) with the work and layers actually executed per timed step. */
    private record Decode(double tokensPerSecond, double cpuTokensPerSecond, double flopsPerToken, double bytesPerToken, double layersUsed) {
    }

    private static Decode decode(Transformer tf, SkipPolicy policy, int tokens) {
        // a few untimed steps first: some context, and a warm cache; token by token, as decode builds its context
        int untimed = 6;
        int[] ids = randomIds(untimed + tokens, tf.config().vocabSize());
        InferenceState s = tf.newState(ids.length);
        for (int t = 0; t < untimed; t++) tf.forward(s, ids, t, 1, policy, false);
        s.work.reset();
        long layers = 0;
        long cpuStart = THREADS.getCurrentThreadCpuTime(), start = System.nanoTime();
        for (int t = untimed; t < ids.length; t++) {
            tf.forward(s, ids, t, 1, policy, false);
            layers += s.layersUsed(0);
        }
        double seconds = (System.nanoTime() - start) / 1e9, cpuSeconds = (THREADS.getCurrentThreadCpuTime() - cpuStart) / 1e9;
        return new Decode(tokens / seconds, tokens / cpuSeconds, 2.0 * s.work.total() / tokens, (double) s.work.totalBytes() / tokens,
                (double) layers / tokens);
    }

    /**
     * Untimed rounds of a short decode and a short prefill, at least one, for at least {@code seconds}, and on until
     * {@value #WARM_UP_DECODE_STEPS} decode steps (up to four times {@code seconds}): C2 compiles a method after
     * thousands of calls, which a small model's per-layer code reaches only after ~1000 tokens. Decode and prefill
     * alternate so that the compiled code has seen both paths (a decode-only warm-up left traps that the first
     * prefill hit, sending the forward pass back to slower code for seconds).
     */
    private static void warmUp(Transformer tf, SkipPolicy policy, int decodeTokens, int prefillTokens, double seconds) {
        int vocab = tf.config().vocabSize(), round = Math.min(decodeTokens, 16);
        long start = System.nanoTime(), steps = 0;
        while (true) {
            decode(tf, policy, round);
            steps += round;
            // as long as the timed prompt up to 64 tokens: the same kernel path (dots below Matrix.GEMM_MIN_TOKENS, packed Gemm from there)
            prefill(tf, policy, randomIds(Math.min(prefillTokens, Math.max(64, prefillTokens / 8)), vocab));
            double elapsed = (System.nanoTime() - start) / 1e9;
            if (elapsed >= seconds && (steps >= WARM_UP_DECODE_STEPS || elapsed >= 4 * seconds)) return;
        }
    }

    /** Decode steps the warm-up runs before timing, time permitting (tinylm-12l's rate settled after ~1000). */
    private static final int WARM_UP_DECODE_STEPS = 1500;

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    private static void prefill(Transformer tf, SkipPolicy policy, int[] ids) {
        tf.forward(tf.newState(ids.length), ids, 0, ids.length, policy, false);
    }

    private static int[] randomIds(int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = (int) ((i * 2654435761L + 12345) % vocab);
        return ids;
    }
}
