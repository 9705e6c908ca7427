package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.flexidepth4j.model.DecoderVariant;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.LayerWeights;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.model.RopeConfig;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.skip.FlexiDepth;
import org.flexidepth4j.skip.FlexiDepthTensor;
import org.flexidepth4j.tensor.Gaussian;
import org.junit.jupiter.api.Test;

/**
 * Training on a Gemma-shaped decoder (every Gemma 2 and Gemma 3 departure at once: scaled embedding, GELU-tanh,
 * sandwich norms, attention and final soft-caps, query scale, q/k norms, sliding layers of window 4 on their own RoPE
 * base): the training forward gives inference's loss, its gradient passes a directional finite-difference check, a
 * FlexiDepth plug-in trained a few steps lowers the loss, and a skipped token's work is K/V + router + adapter. The
 * new backward ops themselves are checked in float64 in {@link OpsGradientTest}.
 */
class GemmaTrainingTest {
    static final int D = 32, FF = 64, LAYERS = 4, T = 14, WINDOW = 4;
    static final DecoderVariant GEMMA = new DecoderVariant(true, DecoderVariant.Activation.GELU_TANH, true, 12, 3f, 6f, WINDOW, 2,
            RopeConfig.plain(500, false));
    static final ModelConfig C = new ModelConfig("gemma3_text", D, FF, LAYERS, 4, 2, 8, 40, 64, 1e-6f, RopeConfig.plain(10000, false), true, false, true)
            .withVariant(GEMMA);
    static final int[] IDS = {1, 5, 9, 2, 17, 4, 4, 22, 13, 0, 7, 30, 39, 11};

    /** Random weights with q/k norms and post norms near 1 (as 1 + w). */
    static ModelWeights weights(long seed) {
        ModelConfig llama = new ModelConfig("llama", D, FF, LAYERS, 4, 2, 8, 40, 64, 1e-6f, RopeConfig.plain(10000, false), true, false, false);
        ModelWeights w = ScratchModel.init(llama, seed, 0.3);
        SplittableRandom rng = new SplittableRandom(seed + 1);
        LayerWeights[] layers = new LayerWeights[LAYERS];
        for (int l = 0; l < LAYERS; l++) {
            LayerWeights s = w.layers()[l];
            layers[l] = new LayerWeights(norm(rng, D), s.wq(), s.wk(), s.wv(), s.wo(), null, null, null, norm(rng, 8), norm(rng, 8), norm(rng, D),
                    s.wGate(), s.wUp(), s.wDown()).withPostNorms(new LayerWeights.PostNorms(norm(rng, D), norm(rng, D)));
        }
        return new ModelWeights(w.embedding(), layers, norm(rng, D), w.lmHead());
    }

    static float[] norm(SplittableRandom rng, int n) {
        float[] v = Gaussian.normal(rng, n, 0.2);
        for (int i = 0; i < n; i++) v[i] += 1f;
        return v;
    }

    @Test
    void theTrainingForwardGivesInferencesLoss() {
        ModelWeights w = weights(3);
        TrainableDecoder net = TrainableDecoder.builder(C, w, T).build();
        double loss = net.forward(IDS, T);
        Transformer tf = new Transformer(C, w);
        InferenceState s = tf.newState(T);
        tf.forward(s, IDS, 0, T, SkipPolicy.NONE, true);
        double want = 0;
        for (int t = 0; t < T - 1; t++) {
            float[] row = s.logitsRow(t);
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (float v : row) max = Math.max(max, v);
            for (float v : row) sum += Math.exp(v - max);
            want += Math.log(sum) + max - row[IDS[t + 1]];
        }
        assertThat(loss).isCloseTo(want / (T - 1), org.assertj.core.data.Offset.offset(1e-5 * loss));
    }

    /**
     * Every base tensor trainable: the loss moved by ±ε along the gradient changes by 2ε|g|² to first order; the
     * measured difference quotient matches |g|² within 1% (a wrong sign or a missing term anywhere shows).
     */
    @Test
    void theGradientOfEveryTensorPassesADirectionalDerivativeCheck() {
        TrainableDecoder net = TrainableDecoder.builder(C, weights(4), T).trainAllBase().build();
        net.forward(IDS, T);
        List<Param> params = net.trainableParams();
        for (Param p : params) java.util.Arrays.fill(p.grad(), 0f);
        net.backward(1f);
        double squared = 0;
        List<float[]> grads = new ArrayList<>();
        for (Param p : params) {
            grads.add(p.grad().clone());
            for (float g : p.grad()) squared += (double) g * g;
        }
        double eps = 1e-3 / Math.sqrt(squared);
        double plus = lossAlong(net, params, grads, eps), minus = lossAlong(net, params, grads, -2 * eps);
        lossAlong(net, params, grads, eps);
        assertThat((plus - minus) / (2 * eps)).isCloseTo(squared, org.assertj.core.data.Percentage.withPercentage(1));
    }

    private static double lossAlong(TrainableDecoder net, List<Param> params, List<float[]> grads, double step) {
        for (int k = 0; k < params.size(); k++) {
            float[] v = params.get(k).value(), g = grads.get(k);
            for (int i = 0; i < v.length; i++) v[i] += (float) (step * g[i]);
        }
        return net.forward(IDS, T);
    }

    @Test
    void aFlexiDepthPlugInTrainsAndItsSkippedTokensCostOnlyKeyValuesRouterAndAdapter() {
        ModelWeights w = weights(5);
        PlugIn plugIn = PlugIn.init(C, new int[] {2, 3}, 1);
        TrainableDecoder net = TrainableDecoder.builder(C, w, T).skip(plugIn).build();
        AdamW opt = new AdamW(net.trainableParams(), 0.9f, 0.999f, 1e-8f, 0f);
        double first = 0, last = 0;
        for (int step = 0; step < 15; step++) {
            opt.zeroGrad();
            last = net.forward(IDS, T);
            if (step == 0) first = last;
            net.backward(1f);
            opt.update(1e-2f);
        }
        assertThat(last).isLessThan(first);

        FlexiDepth skipAll = FlexiDepthTensor.randomInit(C, new int[] {2, 3}, 16, 16, 3, 0.02).withThreshold(1.0);
        Transformer tf = new Transformer(C, w);
        InferenceState s = tf.newState(T);
        tf.forward(s, IDS, 0, T, skipAll, true);
        long d = D, kv = 2 * d * C.kvDim(), router = 2 * d * (d / 16) + d, adapter = 3 * d * (FF / 16);
        for (int l = 2; l < LAYERS; l++) assertThat(s.work.layer(l)).as("layer " + l).isEqualTo(T * (kv + router + adapter));
        long full = kv + 2 * d * C.queryDim() + 3 * d * FF, attention = 0;
        for (int p = 0; p < T; p++) attention += 2L * Math.min(p + 1, WINDOW) * C.queryDim();
        assertThat(s.work.layer(0)).as("sliding layer 0").isEqualTo(T * full + attention);
    }
}
