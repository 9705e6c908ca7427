package org.flexidepth4j.bench;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.tensor.Parallel;
import org.flexidepth4j.tensor.Roofline;

/**
 * Decode and prefill speed of a model, each against its roofline ceiling measured on the same machine with the
 * same thread count: decode must stream every weight once per token (ceiling = read bandwidth / weight bytes per
 * token); prefill is arithmetic-bound (ceiling = FMA peak / FLOPs per token, FLOPs counted by the model's
 * {@link org.flexidepth4j.model.WorkCounter}, attention included). Results are records, serializable with Jackson.
 */
public final class Bench {
    private Bench() {
    }

    /** One thread count's measurements. Rates are tokens per second; fractions are measured / ceiling. */
    public record Run(int threads, Roofline roofline, double decodeTokensPerSecond, double decodeCeiling, double decodeFraction,
                      double decodeFlopsPerToken, double decodeLayersUsed, int prefillTokens, double prefillTokensPerSecond, double prefillCeiling, double prefillFraction,
                      double prefillGflops) {
    }

    /**
     * @param skip                skip mode the runs used ({@code none} = dense)
     * @param weightBytesPerToken bytes of weights read per decoded token by a dense step (all layer matrices and the
     *                            LM head); the decode ceiling uses it, so a skipping run can exceed fraction 1
     */
    public record Result(String model, String dtype, String skip, long parameters, long weightBytesPerToken, List<Run> runs) {
    }

    /**
     * Measures {@code model} at each thread count: {@code decodeTokens} single-token steps after a short prompt,
     * then one prefill of {@code prefillTokens} tokens (after a smaller warm-up prefill). Leaves the pool at the
     * last thread count.
     */
    public static Result run(Model model, List<Integer> threadCounts, int decodeTokens, int prefillTokens, long rooflineBufferBytes) {
        return run(model, "none", SkipPolicy.NONE, threadCounts, decodeTokens, prefillTokens, rooflineBufferBytes);
    }

    /** As {@link #run(Model, List, int, int, long)} with every forward pass under {@code policy}. */
    public static Result run(Model model, String skipMode, SkipPolicy policy, List<Integer> threadCounts, int decodeTokens,
                             int prefillTokens, long rooflineBufferBytes) {
        Transformer tf = model.transformer();
        ModelWeights w = tf.weights();
        List<Run> runs = new ArrayList<>();
        for (int threads : threadCounts) {
            Parallel.setThreads(threads);
            Roofline roof = Roofline.measure(rooflineBufferBytes, 3);
            Decode decode = decodeRate(tf, policy, decodeTokens);
            double decodeCeiling = roof.readGBps() * 1e9 / w.bytesPerToken();
            int[] ids = randomIds(prefillTokens, tf.config().vocabSize());
            prefill(tf, policy, randomIds(Math.max(2, prefillTokens / 8), tf.config().vocabSize())); // JIT warm-up
            InferenceState s = tf.newState(prefillTokens);
            long start = System.nanoTime();
            tf.forward(s, ids, 0, prefillTokens, policy, false);
            double seconds = (System.nanoTime() - start) / 1e9;
            double flops = 2.0 * s.work.total();
            double prefill = prefillTokens / seconds;
            double prefillCeiling = roof.fmaGflops() * 1e9 / (flops / prefillTokens);
            runs.add(new Run(threads, roof, decode.tokensPerSecond, decodeCeiling, decode.tokensPerSecond / decodeCeiling,
                    decode.flopsPerToken, decode.layersUsed, prefillTokens, prefill, prefillCeiling,
                    prefill / prefillCeiling, flops / seconds / 1e9));
        }
        String dtype = w.layers()[0].wq().dtype().name();
        return new Result(model.source().toString(), dtype, skipMode, tf.config().parameterCount(), w.bytesPerToken(), runs);
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

    /** Decode rate with the multiply-adds and layers actually executed per timed step (measured, not modelled). */
    private record Decode(double tokensPerSecond, double flopsPerToken, double layersUsed) {
    }

    private static Decode decodeRate(Transformer tf, SkipPolicy policy, int tokens) {
        int prompt = 4, warmup = 3;
        int[] ids = randomIds(prompt + warmup + tokens, tf.config().vocabSize());
        InferenceState s = tf.newState(ids.length);
        tf.forward(s, ids, 0, prompt, policy, false);
        for (int t = prompt; t < prompt + warmup; t++) tf.forward(s, ids, t, 1, policy, false);
        s.work.reset();
        long layers = 0;
        long start = System.nanoTime();
        for (int t = prompt + warmup; t < ids.length; t++) {
            tf.forward(s, ids, t, 1, policy, false);
            layers += s.layersUsed(0);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new Decode(tokens / seconds, 2.0 * s.work.total() / tokens, (double) layers / tokens);
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
