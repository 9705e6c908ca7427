package org.flexidepth4j.train;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.flexidepth4j.model.LayerWeights;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.tensor.F32Matrix;
import org.flexidepth4j.tensor.Gaussian;

/** Weights of a model trained from scratch: every matrix ~ N(0, std²) (Box-Muller from a seeded stream), norms 1. */
public final class ScratchModel {
    private ScratchModel() {
    }

    public static ModelWeights init(ModelConfig c, long seed, double std) {
        if (c.attentionBias() || c.qkNorm()) throw new IllegalArgumentException("training from scratch supports the llama architecture only");
        SplittableRandom rng = new SplittableRandom(seed);
        int d = c.hiddenSize(), qd = c.queryDim(), kvd = c.kvDim(), ff = c.intermediateSize();
        F32Matrix embedding = normal(rng, c.vocabSize(), d, std);
        LayerWeights[] layers = new LayerWeights[c.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = new LayerWeights(ones(d), normal(rng, qd, d, std), normal(rng, kvd, d, std), normal(rng, kvd, d, std),
                    normal(rng, d, qd, std), null, null, null, null, null, ones(d),
                    normal(rng, ff, d, std), normal(rng, ff, d, std), normal(rng, d, ff, std));
        }
        return new ModelWeights(embedding, layers, ones(d), c.tiedEmbeddings() ? embedding : normal(rng, c.vocabSize(), d, std));
    }

    private static F32Matrix normal(SplittableRandom rng, int rows, int cols, double std) {
        return F32Matrix.of(Gaussian.normal(rng, rows * cols, std), rows, cols);
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        Arrays.fill(v, 1f);
        return v;
    }
}
