package org.flexidepth4j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;

/**
 * Throughput of plug-in training against the inference forward on the same tokens, and a short alpha sweep (not a
 * unit test; numbers go to docs/notes/train.md). Args: model-dir out-dir steps seqLen threads alpha... data-file...
 */
public final class TrainBench {
    public static void main(String[] args) {
        Path modelDir = Path.of(args[0]), out = Path.of(args[1]);
        int steps = Integer.parseInt(args[2]), seqLen = Integer.parseInt(args[3]), threads = Integer.parseInt(args[4]);
        List<Float> alphas = new ArrayList<>();
        List<Path> data = new ArrayList<>();
        for (int i = 5; i < args.length; i++) {
            try {
                alphas.add(Float.parseFloat(args[i]));
            } catch (NumberFormatException e) {
                data.add(Path.of(args[i]));
            }
        }
        Model model = ModelLoader.load(modelDir);
        Transformer tf = model.transformer();
        int[] ids = new int[seqLen];
        for (int i = 0; i < seqLen; i++) ids[i] = (i * 7919) % model.config().vocabSize();
        org.flexidepth4j.tensor.Parallel.setThreads(threads);
        for (int warm = 0; warm < 3; warm++) forwardSeconds(tf, ids);
        double fwd = 0;
        for (int rep = 0; rep < 5; rep++) fwd += forwardSeconds(tf, ids) / 5;
        System.out.printf("inference forward (dense, all logits): %.1f tokens/s%n", seqLen / fwd);
        // training forward and backward of one sequence, interleaved with the inference forward (ratios survive a busy machine)
        PlugIn plugIn = PlugIn.init(model.config(), TrainConfig.parseLayers("6-11"), 1).withSkipLoss(1e-3f);
        TrainableDecoder net = TrainableDecoder.builder(model.config(), tf.weights(), seqLen).skip(plugIn).build();
        double tf1 = 0, tb = 0, inf = 0;
        for (int rep = 0; rep < 8; rep++) {
            long t0 = System.nanoTime();
            net.forward(ids, seqLen);
            long t1 = System.nanoTime();
            net.backward(1f);
            long t2 = System.nanoTime();
            double f = forwardSeconds(tf, ids);
            if (rep >= 3) {
                tf1 += (t1 - t0) / 1e9;
                tb += (t2 - t1) / 1e9;
                inf += f;
            }
        }
        System.out.printf("per sequence of %d: inference forward %.3f s, training forward %.3f s (%.2fx), backward %.3f s (%.2fx), step %.2fx the inference forward%n",
                seqLen, inf / 5, tf1 / 5, tf1 / inf, tb / 5, tb / inf, (tf1 + tb) / inf);
        for (float alpha : alphas) {
            TrainConfig cfg = TrainConfig.builder(modelDir, data, out.resolve("alpha-" + alpha)).routedLayers("6-11")
                    .alpha(alpha).steps(steps).seqLen(seqLen).lr(1e-3f).warmup(Math.max(1, steps / 20)).threads(threads)
                    .evalEvery(steps).evalSequences(16).checkpointEvery(steps).progress(false).seed(1).build();
            long start = System.nanoTime();
            Trainer.Result r = Trainer.run(cfg);
            double seconds = (System.nanoTime() - start) / 1e9;
            double tps = (double) steps * seqLen / seconds;
            System.out.printf("alpha %.0e: %d steps in %.1f s, %.1f tokens/s (%.2fx the forward time per token), first loss %.3f, last %.3f, val lm %.3f%n",
                    alpha, steps, seconds, tps, seqLen / fwd / tps, r.losses().getFirst(), r.losses().getLast(), r.lastValLoss());
        }
    }

    private static double forwardSeconds(Transformer tf, int[] ids) {
        InferenceState s = tf.newState(ids.length);
        long start = System.nanoTime();
        tf.forward(s, ids, 0, ids.length, SkipPolicy.NONE, true);
        return (System.nanoTime() - start) / 1e9;
    }
}
