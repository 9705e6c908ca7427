package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.SplittableRandom;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.model.RopeConfig;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.skip.BinaryRouterConfig;
import org.junit.jupiter.api.Test;

/** The decoder with Learning-to-Skip routers: gradients against finite differences, forward against inference. */
class SkipDecoderGradientTest {
    static final ModelConfig C = new ModelConfig("llama", 16, 32, 3, 2, 1, 8, 24, 32, 1e-5f, RopeConfig.plain(10000, false), false, false, false);
    static final int[] IDS = {1, 5, 9, 2, 17, 4, 4, 22, 13, 0, 7};
    static final int T = IDS.length;

    static TrainableSkipRouters routers(boolean straightThrough, double std) {
        BinaryRouterConfig s = new BinaryRouterConfig("layer", new int[] {1, 2}, 0.4, 0.3, 0.8, 1.0, 0.5, 1.0, straightThrough);
        TrainableSkipRouters r = TrainableSkipRouters.init(C, s, T);
        SplittableRandom rng = new SplittableRandom(3);
        for (Param p : r.params()) {
            float[] v = ScratchModel.normal(rng, p.size(), std);
            System.arraycopy(v, 0, p.value(), 0, v.length);
        }
        return r;
    }

    static double loss(TrainableDecoder net, TrainableSkipRouters r) {
        r.setNoise(1.0, 77); // the same noise for every evaluation
        return net.forward(IDS, T);
    }

    /**
     * Soft gates (the relaxation whose gradient the straight-through estimator passes): the router weights and the
     * weights of a routed layer against central differences (step 1e-2) of the float32 loss, to 1e-3 of the largest
     * gradient (measured: about 1e-4); the ops themselves are checked in float64 in SkipRouterOpsGradientTest.
     */
    @Test
    void softGateGradientsMatchFiniteDifferences() {
        ModelWeights w = ScratchModel.init(C, 1, 0.3);
        TrainableSkipRouters r = routers(false, 0.5);
        TrainableDecoder net = new TrainableDecoder(C, w, name -> true, null, 0f, 0.5f, T, r);
        loss(net, r);
        assertThat(r.regularizer()).isGreaterThan(0);
        for (Param p : net.trainableParams()) java.util.Arrays.fill(p.grad(), 0f);
        net.backward(1f);
        List<Param> params = net.trainableParams();
        for (Param p : params) {
            boolean router = p.name().contains("skip_router");
            boolean routedLayer = p.name().startsWith("model.layers.1.") || p.name().startsWith("model.layers.2.");
            if (!router && !(routedLayer && (p.name().contains("o_proj") || p.name().contains("input_layernorm") || p.name().contains("k_proj")))) continue;
            double err = 0, scale = 0;
            float h = 1e-2f;
            for (int i = 0; i < Math.min(p.size(), 32); i++) {
                float keep = p.value()[i];
                p.value()[i] = keep + h;
                double plus = loss(net, r);
                p.value()[i] = keep - h;
                double minus = loss(net, r);
                p.value()[i] = keep;
                double fd = (plus - minus) / (2 * h);
                err = Math.max(err, Math.abs(p.grad()[i] - fd));
                scale = Math.max(scale, Math.abs(fd));
            }
            assertThat(scale).as(p.name() + " has a gradient").isGreaterThan(1e-4);
            assertThat(err / scale).as(p.name()).isLessThanOrEqualTo(1e-3);
        }
    }

    /** Hard gates without noise: the training forward is the inference forward of the same weights and routers. */
    @Test
    void hardGateForwardWithoutNoiseEqualsInference() {
        ModelWeights w = ScratchModel.init(C, 2, 0.3);
        TrainableSkipRouters r = routers(true, 0.5);
        TrainableDecoder net = new TrainableDecoder(C, w, name -> true, null, 0f, 0.5f, T, r);
        r.setNoise(0, 1);
        net.forward(IDS, T);
        double executed = (r.executedFraction(1) + r.executedFraction(2)) / 2;
        assertThat(executed).isStrictlyBetween(0.0, 1.0);

        Transformer tf = new Transformer(C, w);
        InferenceState s = tf.newState(T);
        tf.forward(s, IDS, 0, T, r.policy(), true);
        double ce = 0;
        int v = C.vocabSize();
        for (int t = 0; t + 1 < T; t++) {
            float[] row = s.logitsRow(t);
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (float x : row) max = Math.max(max, x);
            for (float x : row) sum += Math.exp(x - max);
            ce += Math.log(sum) + max - row[IDS[t + 1]];
        }
        assertThat(net.lmLoss()).isCloseTo(ce / (T - 1), org.assertj.core.data.Offset.offset(1e-5));
        int used = 0;
        for (int t = 0; t < T; t++) used += s.layersUsed(t);
        assertThat(used).isEqualTo(T + (int) Math.round(executed * 2 * T));
        assertThat(v).isEqualTo(24);
    }
}
