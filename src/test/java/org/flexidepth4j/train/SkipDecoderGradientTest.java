package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.model.RopeConfig;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.skip.BinaryRouterConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The decoder with Learning-to-Skip routers: gradients against finite differences, forward against inference. */
class SkipDecoderGradientTest {
    static final ModelConfig C = new ModelConfig("llama", 16, 32, 3, 2, 1, 8, 24, 32, 1e-5f, RopeConfig.plain(10000, false), false, false, false);
    static final int[] IDS = {1, 5, 9, 2, 17, 4, 4, 22, 13, 0, 7};
    static final int T = IDS.length;

    static LearningToSkip routers(boolean straightThrough, double std) {
        return routers(BinaryRouterConfig.LAYER, straightThrough, std, false);
    }

    static LearningToSkip routers(String granularity, boolean straightThrough, double std, boolean detach) {
        BinaryRouterConfig s = new BinaryRouterConfig(granularity, new int[] {1, 2}, 0.4, 0.4, 0, 0.3, 0.8, 1.0, 0.5, 1.0, straightThrough, detach);
        LearningToSkip r = LearningToSkip.init(C, s, T);
        SplittableRandom rng = new SplittableRandom(3);
        for (Param p : r.params()) {
            float[] v = org.flexidepth4j.tensor.Gaussian.normal(rng, p.size(), std);
            System.arraycopy(v, 0, p.value(), 0, v.length);
        }
        return r;
    }

    static final long NOISE_STREAM = 77;

    static double loss(TrainableDecoder net, LearningToSkip r) {
        r.setNoise(1.0, NOISE_STREAM); // the same noise for every evaluation
        return net.forward(IDS, T);
    }

    /**
     * Soft gates (the relaxation whose gradient the straight-through estimator passes), per layer and per module:
     * the gradients of every tensor (base weights, both routers of each routed layer; the first 96 entries of each)
     * against central differences (step 1e-6) of a float64 transcription of the decoder's loss (LM cross-entropy +
     * density terms, the same Gumbel noise), max abs error ≤ 1e-3 of the tensor's largest gradient (measured: at most
     * 8e-6 over all entries); the float32 loss equals the float64 one to 1e-5.
     */
    @ParameterizedTest
    @ValueSource(strings = {BinaryRouterConfig.LAYER, BinaryRouterConfig.MODULE})
    void softGateGradientsMatchFloat64FiniteDifferences(String granularity) {
        ModelWeights w = ScratchModel.init(C, 1, 0.3);
        LearningToSkip r = routers(granularity, false, 0.5, false);
        TrainableDecoder net = TrainableDecoder.builder(C, w, T).trainAllBase().skip(r).build();
        double loss = loss(net, r);
        assertThat(r.loss()).isGreaterThan(0);
        for (Param p : net.trainableParams()) java.util.Arrays.fill(p.grad(), 0f);
        net.backward(1f);

        Map<String, double[]> values = new HashMap<>();
        for (Param p : net.allParams()) values.put(p.name(), Reference64.d(p.value()));
        float[][] noise = Reference64.noise(r.settings(), NOISE_STREAM);
        assertThat(Reference64.loss(values, r.settings(), noise)).isCloseTo(loss, org.assertj.core.data.Offset.offset(1e-5 * loss));
        assertThat(r.params()).hasSize(granularity.equals(BinaryRouterConfig.MODULE) ? 4 : 2);
        double h = 1e-6;
        for (Param p : net.trainableParams()) {
            double[] v = values.get(p.name());
            double err = 0, scale = 0;
            for (int i = 0; i < Math.min(v.length, 96); i++) {
                double keep = v[i];
                v[i] = keep + h;
                double plus = Reference64.loss(values, r.settings(), noise);
                v[i] = keep - h;
                double minus = Reference64.loss(values, r.settings(), noise);
                v[i] = keep;
                double fd = (plus - minus) / (2 * h);
                err = Math.max(err, Math.abs(p.grad()[i] - fd));
                scale = Math.max(scale, Math.abs(fd));
            }
            assertThat(scale).as(p.name() + " has a gradient").isGreaterThan(1e-4);
            assertThat(err / scale).as(p.name()).isLessThanOrEqualTo(1e-3);
        }
    }

    /** The decoder of {@link #C} in float64, from its definitions, with soft Learning-to-Skip gates. */
    static final class Reference64 {
        static double[] d(float[] v) {
            double[] out = new double[v.length];
            for (int i = 0; i < v.length; i++) out[i] = v[i];
            return out;
        }

        /** The noise each router draws, in forward order (layer by layer; per module attention, then FFN). */
        static float[][] noise(BinaryRouterConfig s, long stream) {
            SplittableRandom rng = new SplittableRandom(stream);
            float[][] out = new float[s.layers().length * s.sites().size()][2 * T];
            for (float[] n : out) SkipRouterOps.gumbelNoise(rng, 1f, n, 2 * T);
            return out;
        }

        static double loss(Map<String, double[]> w, BinaryRouterConfig s, float[][] noise) {
            int d = C.hiddenSize(), hd = C.headDim(), heads = C.numHeads(), kvHeads = C.numKvHeads(), ff = C.intermediateSize(), V = C.vocabSize();
            int n = T;
            double[] h = new double[n * d], emb = w.get("model.embed_tokens.weight");
            for (int t = 0; t < n; t++) System.arraycopy(emb, IDS[t] * d, h, t * d, d);
            double regularizer = 0;
            int router = 0;
            for (int l = 0; l < C.numLayers(); l++) {
                String p = "model.layers." + l + ".";
                double[] x = rmsNorm(h, w.get(p + "input_layernorm.weight"), n, d);
                double[] q = rope(linear(x, w.get(p + "self_attn.q_proj.weight"), n, heads * hd, d), n, heads);
                double[] k = rope(linear(x, w.get(p + "self_attn.k_proj.weight"), n, kvHeads * hd, d), n, kvHeads);
                double[] v = linear(x, w.get(p + "self_attn.v_proj.weight"), n, kvHeads * hd, d);
                double[] a = linear(attention(q, k, v, n), w.get(p + "self_attn.o_proj.weight"), n, d, heads * hd);
                boolean routed = s.routes(l), perModule = routed && s.granularity().equals(BinaryRouterConfig.MODULE);
                double[] gA = null, gF = null;
                if (routed) {
                    gA = softGate(x, w.get(s.sites().getFirst().tensorName(l)), noise[router++], s);
                    regularizer += density(gA, s);
                }
                double[] h1 = new double[n * d];
                for (int i = 0; i < n * d; i++) h1[i] = h[i] + (perModule ? gA[i / d] : 1) * a[i]; // per layer: the full block for every token
                double[] y = rmsNorm(h1, w.get(p + "post_attention_layernorm.weight"), n, d);
                if (perModule) {
                    gF = softGate(y, w.get(BinaryRouterConfig.Site.FFN.tensorName(l)), noise[router++], s);
                    regularizer += density(gF, s);
                }
                double[] g = linear(y, w.get(p + "mlp.gate_proj.weight"), n, ff, d), u = linear(y, w.get(p + "mlp.up_proj.weight"), n, ff, d);
                for (int i = 0; i < n * ff; i++) g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                double[] m = linear(g, w.get(p + "mlp.down_proj.weight"), n, d, ff);
                for (int i = 0; i < n * d; i++) {
                    int t = i / d;
                    h[i] = perModule ? h1[i] + gF[t] * m[i] : routed ? h[i] + gA[t] * (a[i] + m[i]) : h1[i] + m[i];
                }
            }
            double[] logits = linear(rmsNorm(h, w.get("model.norm.weight"), n, d), w.get("lm_head.weight"), n, V, d);
            double ce = 0;
            for (int t = 0; t + 1 < n; t++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = 0; j < V; j++) max = Math.max(max, logits[t * V + j]);
                for (int j = 0; j < V; j++) sum += Math.exp(logits[t * V + j] - max);
                ce += Math.log(sum) + max - logits[t * V + IDS[t + 1]];
            }
            return ce / (n - 1) + regularizer;
        }

        /** sigmoid(((W x + noise)_execute − (W x + noise)_skip) / tau) per token. */
        static double[] softGate(double[] x, double[] router, float[] noise, BinaryRouterConfig s) {
            double[] logits = linear(x, router, T, 2, C.hiddenSize()), g = new double[T];
            for (int t = 0; t < T; t++) {
                double diff = logits[2 * t + 1] + noise[2 * t + 1] - logits[2 * t] - noise[2 * t];
                g[t] = 1 / (1 + Math.exp(-diff / (float) s.temperature()));
            }
            return g;
        }

        static double density(double[] g, BinaryRouterConfig s) {
            double mean = 0;
            for (double v : g) mean += v / g.length;
            return (float) s.beta() * (mean - (float) s.targetDensity()) * (mean - (float) s.targetDensity());
        }

        static double[] linear(double[] x, double[] w, int n, int rows, int cols) {
            double[] out = new double[n * rows];
            for (int t = 0; t < n; t++) for (int r = 0; r < rows; r++) for (int j = 0; j < cols; j++) out[t * rows + r] += x[t * cols + j] * w[r * cols + j];
            return out;
        }

        static double[] rmsNorm(double[] x, double[] w, int n, int d) {
            double[] out = new double[n * d];
            for (int t = 0; t < n; t++) {
                double ss = 0;
                for (int j = 0; j < d; j++) ss += x[t * d + j] * x[t * d + j];
                double scale = 1 / Math.sqrt(ss / d + C.rmsNormEps());
                for (int j = 0; j < d; j++) out[t * d + j] = x[t * d + j] * scale * w[j];
            }
            return out;
        }

        /** Rotate-half RoPE at positions 0..n-1. */
        static double[] rope(double[] x, int n, int heads) {
            int hd = C.headDim(), half = hd / 2;
            double[] inv = C.rope().inverseFrequencies(hd), out = x.clone();
            for (int t = 0; t < n; t++) for (int h = 0; h < heads; h++) for (int i = 0; i < half; i++) {
                int a = (t * heads + h) * hd + i, b = a + half;
                double c = Math.cos(t * inv[i]), sn = Math.sin(t * inv[i]);
                out[a] = x[a] * c - x[b] * sn;
                out[b] = x[b] * c + x[a] * sn;
            }
            return out;
        }

        /** Causal grouped-query attention, softmax(q·k / sqrt(hd)) · v. */
        static double[] attention(double[] q, double[] k, double[] v, int n) {
            int hd = C.headDim(), heads = C.numHeads(), qd = heads * hd, kvd = C.kvDim(), group = heads / C.numKvHeads();
            double[] out = new double[n * qd];
            for (int t = 0; t < n; t++) for (int h = 0; h < heads; h++) {
                int kv = (h / group) * hd;
                double[] p = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int s = 0; s <= t; s++) {
                    double dot = 0;
                    for (int i = 0; i < hd; i++) dot += q[t * qd + h * hd + i] * k[s * kvd + kv + i];
                    max = Math.max(max, p[s] = dot / Math.sqrt(hd));
                }
                for (int s = 0; s <= t; s++) sum += p[s] = Math.exp(p[s] - max);
                for (int s = 0; s <= t; s++) for (int i = 0; i < hd; i++) out[t * qd + h * hd + i] += p[s] / sum * v[s * kvd + kv + i];
            }
            return out;
        }
    }

    /**
     * Hard gates without noise: the training forward is the inference forward of the same weights and routers (per
     * module: the transformer's second routing point after the attention residual), and the trace's gates, the mean
     * of a layer's module gates, average to the executed fractions.
     */
    @ParameterizedTest
    @ValueSource(strings = {BinaryRouterConfig.LAYER, BinaryRouterConfig.MODULE})
    void hardGateForwardWithoutNoiseEqualsInference(String granularity) {
        ModelWeights w = ScratchModel.init(C, 2, 0.3);
        LearningToSkip r = routers(granularity, true, 0.5, false);
        TrainableDecoder net = TrainableDecoder.builder(C, w, T).trainAllBase().skip(r).build();
        r.setNoise(0, 1);
        net.forward(IDS, T);
        for (BinaryRouterConfig.Site site : r.settings().sites()) {
            for (int l = 1; l <= 2; l++) assertThat(r.executedFraction(site, l)).as(site + " of layer " + l).isStrictlyBetween(0.0, 1.0);
        }

        Transformer tf = new Transformer(C, w);
        InferenceState s = tf.newState(T);
        tf.forward(s, IDS, 0, T, r.policy(), true);
        double ce = 0;
        for (int t = 0; t + 1 < T; t++) {
            float[] row = s.logitsRow(t);
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (float x : row) max = Math.max(max, x);
            for (float x : row) sum += Math.exp(x - max);
            ce += Math.log(sum) + max - row[IDS[t + 1]];
        }
        assertThat(net.lmLoss()).isCloseTo(ce / (T - 1), org.assertj.core.data.Offset.offset(1e-5));
        for (int l = 1; l <= 2; l++) {
            double gates = 0;
            for (int t = 0; t < T; t++) gates += s.gate(l, t);
            assertThat(gates / T).as("layer " + l).isCloseTo(r.executedFraction(l), org.assertj.core.data.Offset.offset(1e-9));
        }
    }

    /**
     * Routers that run every token (they read a residual coordinate held at +3: its embedding column is 3 and its
     * o_proj/down_proj rows are zero) leave the dense model: the same loss and the same gradient of every base weight,
     * when the router is saturated (no straight-through gradient reaches its input) or its input is detached.
     */
    @ParameterizedTest
    @CsvSource({"1000, false, layer", "1, true, layer", "1000, false, module", "1, true, module"})
    void routersThatRunEveryTokenGiveTheDenseGradients(float executeWeight, boolean detach, String granularity) {
        ModelWeights w = ScratchModel.init(C, 4, 0.3);
        int d = C.hiddenSize(), v = C.vocabSize();
        float[] emb = new float[v * d];
        for (int r = 0; r < v; r++) w.embedding().readRow(r, emb, r * d);
        for (int r = 0; r < v; r++) emb[r * d] = 3f;
        org.flexidepth4j.model.LayerWeights[] layers = w.layers().clone();
        for (int l = 0; l < layers.length; l++) {
            org.flexidepth4j.model.LayerWeights lw = layers[l];
            layers[l] = new org.flexidepth4j.model.LayerWeights(lw.attnNorm(), lw.wq(), lw.wk(), lw.wv(), zeroRow0(lw.wo()), null, null, null, null, null,
                    lw.ffnNorm(), lw.wGate(), lw.wUp(), zeroRow0(lw.wDown()));
        }
        ModelWeights forced = new ModelWeights(org.flexidepth4j.tensor.F32Matrix.of(emb, v, d), layers, w.finalNorm(), w.lmHead());
        LearningToSkip r = routers(granularity, true, 0, detach);
        for (Param p : r.params()) p.value()[d] = executeWeight; // execute-logit = w·x[0] > 0 = skip-logit
        r.setNoise(0, 1);
        TrainableDecoder routed = TrainableDecoder.builder(C, forced, T).trainAllBase().skip(r).build();
        TrainableDecoder dense = TrainableDecoder.builder(C, forced, T).trainAllBase().build();
        double lr = routed.forward(IDS, T), ld = dense.forward(IDS, T);
        assertThat(r.executedFraction(1)).isEqualTo(1.0);
        assertThat(r.executedFraction(2)).isEqualTo(1.0);
        assertThat(routed.lmLoss()).isEqualTo(ld);
        routed.backward(1f);
        dense.backward(1f);
        List<Param> a = routed.trainableParams(), b = dense.trainableParams();
        for (int i = 0; i < b.size(); i++) {
            assertThat(a.get(i).name()).isEqualTo(b.get(i).name());
            org.flexidepth4j.model.ParityAssert.assertClose(a.get(i).grad(), b.get(i).grad(), 1e-5, b.get(i).name());
        }
        assertThat(lr - ld).isCloseTo(r.loss(), org.assertj.core.data.Offset.offset(1e-9));
        if (detach) assertThat(a.get(b.size()).grad()).as("the router still learns").isNotEqualTo(new float[2 * d]);
    }

    static org.flexidepth4j.tensor.Matrix zeroRow0(org.flexidepth4j.tensor.Matrix m) {
        float[] v = new float[m.rows() * m.cols()];
        for (int r = 1; r < m.rows(); r++) m.readRow(r, v, r * m.cols());
        return org.flexidepth4j.tensor.F32Matrix.of(v, m.rows(), m.cols());
    }
}
