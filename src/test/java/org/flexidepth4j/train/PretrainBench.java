package org.flexidepth4j.train;

import java.nio.file.Path;
import java.util.List;
import org.flexidepth4j.skip.BinaryRouterConfig;

/**
 * A small Learning-to-Skip comparison (not a unit test; numbers go to docs/LEARNING-TO-SKIP.md): one run per call, byte
 * tokens (FakeTokenizer). Args: out-dir layers routed(yes|no) denseFirst beta steps threads data-file [noise-anneal-fraction, 0.5] [target-density, 0.5] [detach-router-input, false] [tokenizer-dir, byte tokens].
 * Prints the final held-out NLL (inference routing) and the executed fraction of routed layers.
 */
public final class PretrainBench {
    public static void main(String[] args) {
        Path out = Path.of(args[0]);
        int layers = Integer.parseInt(args[1]);
        boolean routed = args[2].equals("yes");
        int denseFirst = Integer.parseInt(args[3]);
        double beta = Double.parseDouble(args[4]);
        int steps = Integer.parseInt(args[5]), threads = Integer.parseInt(args[6]);
        double anneal = args.length > 8 ? Double.parseDouble(args[8]) : 0.5;
        double density = args.length > 9 ? Double.parseDouble(args[9]) : 0.5;
        boolean detach = args.length > 10 && Boolean.parseBoolean(args[10]);
        org.flexidepth4j.tokenizer.Tokenizer tokenizer = args.length > 11
                ? org.flexidepth4j.tokenizer.Tokenizers.fromHfDirectory(Path.of(args[11])) : new FakeTokenizer();
        int[] routedLayers = java.util.stream.IntStream.range(denseFirst, layers).toArray();
        BinaryRouterConfig router = routed ? new BinaryRouterConfig("layer", routedLayers, density, density, 0, beta, 1.0, 1.0, anneal, 1.0, true, detach) : null;
        PretrainConfig cfg = new PretrainConfig(64, layers, 4, 2, 176, 128, 0, 10000, true, 0.02, router, denseFirst,
                3e-3f, 20, 0.1f, 0.1f, 0.9f, 0.95f, 1e-8f, 1f, List.of(Path.of(args[7])), null, 64, 8, steps, 1, 64,
                Math.max(steps / 5, 1), steps, threads, out);
        long start = System.nanoTime();
        Pretrainer.Result r = Pretrainer.run(cfg, tokenizer);
        System.out.printf("layers=%d routed=%s denseFirst=%d P=%.2f beta=%.2f anneal=%.2f detach=%s steps=%d  val_nll=%.4f executed=%.3f  train_loss_last=%.4f  %.0fs%n",
                layers, routed, denseFirst, density, beta, anneal, detach, steps, r.valLoss(), r.valExecuted(), r.losses().get(r.losses().size() - 1),
                (System.nanoTime() - start) / 1e9);
    }
}
