package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.flexidepth4j.tensor.Attention;
import org.flexidepth4j.tensor.BF16Matrix;
import org.flexidepth4j.tensor.F32Matrix;
import org.flexidepth4j.tensor.Rope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every backward op of {@link Ops} against central finite differences in float64. Each op's definition is
 * transcribed here in double (a few lines of scalar math, independent of the float32 kernels); the float32 forward
 * must agree with it and the float32 analytic gradient of L = Σ out·r (r random) must agree with the finite
 * differences of the double definition within 1e-3 relative (max abs error / max abs reference) per input.
 */
class OpsGradientTest {
    private static final double H = 1e-6;
    private final SplittableRandom rng = new SplittableRandom(42);

    private float[] random(int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((rng.nextDouble() * 2 - 1) * scale);
        return v;
    }

    private static double[] d(float[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }

    /**
     * Checks the float forward {@code out} against {@code ref(inputs)} and each analytic gradient against the finite
     * differences of Σ ref(inputs)·r with respect to that input.
     */
    private static void check(String op, float[][] inputs, Function<double[][], double[]> ref, float[] out, float[] r, float[]... grads) {
        double[][] x = new double[inputs.length][];
        for (int k = 0; k < inputs.length; k++) x[k] = d(inputs[k]);
        double[] want = ref.apply(x);
        double maxErr = 0, maxRef = 0;
        for (int i = 0; i < want.length; i++) {
            maxErr = Math.max(maxErr, Math.abs(out[i] - want[i]));
            maxRef = Math.max(maxRef, Math.abs(want[i]));
        }
        assertThat(maxErr / maxRef).as(op + " forward vs float64 definition").isLessThan(1e-5);
        for (int k = 0; k < grads.length; k++) {
            if (grads[k] == null) continue;
            double err = 0, scale = 0;
            for (int i = 0; i < x[k].length; i++) {
                double keep = x[k][i];
                x[k][i] = keep + H;
                double plus = weighted(ref.apply(x), r);
                x[k][i] = keep - H;
                double minus = weighted(ref.apply(x), r);
                x[k][i] = keep;
                double fd = (plus - minus) / (2 * H);
                err = Math.max(err, Math.abs(grads[k][i] - fd));
                scale = Math.max(scale, Math.abs(fd));
            }
            assertThat(scale).as(op + " input " + k + " has a gradient").isGreaterThan(0);
            assertThat(err / scale).as(op + " gradient of input " + k).isLessThanOrEqualTo(1e-3);
        }
    }

    private static double weighted(double[] out, float[] r) {
        double s = 0;
        for (int i = 0; i < out.length; i++) s += out[i] * r[i];
        return s;
    }

    // ---- float64 definitions ----

    private static double[] linearDef(double[] x, double[] w, int T, int rows, int cols) {
        double[] out = new double[T * rows];
        for (int t = 0; t < T; t++) for (int r = 0; r < rows; r++) for (int j = 0; j < cols; j++) out[t * rows + r] += x[t * cols + j] * w[r * cols + j];
        return out;
    }

    private static double[] rmsNormDef(double[] x, double[] w, double eps, int groups, int n) {
        double[] out = new double[groups * n];
        for (int g = 0; g < groups; g++) {
            double ss = 0;
            for (int j = 0; j < n; j++) ss += x[g * n + j] * x[g * n + j];
            double s = 1 / Math.sqrt(ss / n + eps);
            for (int j = 0; j < n; j++) out[g * n + j] = x[g * n + j] * s * w[j];
        }
        return out;
    }

    private static double silu(double g) {
        return g / (1 + Math.exp(-g));
    }

    // ---- checks ----

    @Test
    void trainableLinear() {
        int T = 3, rows = 5, cols = 7;
        float[] x = random(T * cols, 1), w = random(rows * cols, 1), r = random(T * rows, 1);
        Param p = Param.trainable("w", w.clone(), rows, cols, true);
        float[] out = new float[T * rows], dx = new float[T * cols];
        Ops.linear(p, x, out, T);
        Ops.linearBackward(p, x, r, dx, T);
        check("linear", new float[][] {x, w}, in -> linearDef(in[0], in[1], T, rows, cols), out, r, dx, p.grad());
    }

    @Test
    void frozenBf16LinearInputGradient() {
        int T = 4, rows = 6, cols = 9;
        MemorySegment seg = MemorySegment.ofArray(new short[rows * cols]);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            short bits = (short) (Float.floatToIntBits((float) (rng.nextDouble() - 0.5)) >>> 16);
            seg.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2L * i, bits);
            w[i] = BF16Matrix.toFloat(bits);
        }
        Param p = Param.frozen("w", new BF16Matrix(seg, rows, cols));
        float[] x = random(T * cols, 1), r = random(T * rows, 1);
        float[] out = new float[T * rows], dx = new float[T * cols];
        Ops.linear(p, x, out, T);
        Ops.linearBackward(p, x, r, dx, T);
        check("frozen bf16 linear", new float[][] {x, w}, in -> linearDef(in[0], in[1], T, rows, cols), out, r, dx, null);
    }

    @Test
    void biasAdd() {
        int T = 3, n = 4;
        float[] x = random(T * n, 1), b = random(n, 1), r = random(T * n, 1);
        Param p = Param.trainable("b", b.clone(), 1, n, true);
        float[] out = x.clone();
        Ops.addBias(p.vector(), out, T, n);
        Ops.addBiasBackward(p, r, T);
        check("bias", new float[][] {x, b}, in -> {
            double[] o = in[0].clone();
            for (int i = 0; i < o.length; i++) o[i] += in[1][i % n];
            return o;
        }, out, r, r, p.grad());
    }

    @Test
    void rmsNormOverRowsAndHeads() {
        int groups = 6, n = 8;
        float eps = 1e-5f;
        float[] x = random(groups * n, 2), w = random(n, 1.5), r = random(groups * n, 1);
        Param p = Param.trainable("w", w.clone(), 1, n, false);
        float[] out = new float[groups * n], dx = new float[groups * n];
        Ops.rmsNorm(x, p.vector(), eps, out, groups, n);
        Ops.rmsNormBackward(x, p, eps, r, dx, groups, n);
        check("rmsnorm", new float[][] {x, w}, in -> rmsNormDef(in[0], in[1], eps, groups, n), out, r, dx, p.grad());
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void rope(boolean interleaved) {
        int T = 5, heads = 3, hd = 8, width = heads * hd;
        double[] inv = new double[hd / 2];
        for (int i = 0; i < inv.length; i++) inv[i] = 1.0 / Math.pow(10000, 2.0 * i / hd);
        Rope rope = new Rope(inv, hd, interleaved, T, 1);
        float[] x = random(T * width, 1), r = random(T * width, 1);
        float[] out = x.clone(), dx = r.clone();
        rope.rotateRows(out, T, heads, false);
        rope.rotateRows(dx, T, heads, true);
        check("rope interleaved=" + interleaved, new float[][] {x}, in -> {
            double[] o = new double[in[0].length];
            for (int t = 0; t < T; t++) for (int h = 0; h < heads; h++) for (int i = 0; i < hd / 2; i++) {
                int base = (t * heads + h) * hd;
                int a = interleaved ? base + 2 * i : base + i, b = interleaved ? a + 1 : a + hd / 2;
                double c = Math.cos(t * inv[i]), s = Math.sin(t * inv[i]);
                o[a] = in[0][a] * c - in[0][b] * s;
                o[b] = in[0][b] * c + in[0][a] * s;
            }
            return o;
        }, out, r, dx);
    }

    @Test
    void causalGroupedQueryAttention() {
        checkAttention(5, 4, 2, 4);
    }

    @Test
    void attentionOverSeveralQueryBlocksWithVectorWideHeads() {
        // 70 queries: two blocks of the kernel, the second partial; head_dim 16 takes the vector paths.
        checkAttention(70, 2, 1, 16);
    }

    /** Gemma's scores: scale 0.4 (query_pre_attn_scalar), soft-cap 1.5 (so tanh bends), a window of 3 keys. */
    @Test
    void softCappedSlidingWindowAttention() {
        checkAttention(9, 4, 2, 4, new Attention.Scores(0.4f, 1.5f, 3));
    }

    /** The same over two query blocks and vector-wide heads, window 20. */
    @Test
    void softCappedSlidingWindowAttentionOverSeveralBlocks() {
        checkAttention(70, 2, 1, 16, new Attention.Scores(0.3f, 2f, 20));
    }

    private void checkAttention(int T, int heads, int kvHeads, int hd) {
        checkAttention(T, heads, kvHeads, hd, Attention.Scores.plain(hd));
    }

    private void checkAttention(int T, int heads, int kvHeads, int hd, Attention.Scores scores) {
        int qd = heads * hd, kvd = kvHeads * hd;
        float[] q = random(T * qd, 1.5), k = random(T * kvd, 1.5), v = random(T * kvd, 1), r = random(T * qd, 1);
        float[] out = new float[T * qd], lse = new float[T * heads];
        float[] dq = new float[T * qd], dk = new float[T * kvd], dv = new float[T * kvd];
        Ops.attention(q, k, v, out, lse, T, heads, kvHeads, hd, scores);
        Ops.attentionBackward(q, k, v, out, lse, r, dq, dk, dv, T, heads, kvHeads, hd, scores);
        double scale = scores.scale(), cap = scores.softCap();
        int window = scores.window() == 0 ? Integer.MAX_VALUE : scores.window();
        check("attention", new float[][] {q, k, v}, in -> {
            double[] o = new double[T * qd];
            for (int t = 0; t < T; t++) for (int h = 0; h < heads; h++) {
                int g = h / (heads / kvHeads);
                double[] p = new double[t + 1];
                double sum = 0;
                for (int s = 0; s <= t; s++) {
                    if (t - s >= window) continue;
                    double dot = 0;
                    for (int i = 0; i < hd; i++) dot += in[0][t * qd + h * hd + i] * in[1][s * kvd + g * hd + i];
                    double score = dot * scale;
                    if (cap > 0) score = cap * Math.tanh(score / cap);
                    sum += p[s] = Math.exp(score);
                }
                for (int s = 0; s <= t; s++) for (int i = 0; i < hd; i++) o[t * qd + h * hd + i] += p[s] / sum * in[2][s * kvd + g * hd + i];
            }
            return o;
        }, out, r, dq, dk, dv);
    }

    interface GatedForward {
        void apply(float[] gate, float[] up, float[] act, int n);
    }

    interface GatedBackward {
        void apply(float[] gate, float[] up, float[] dact, float[] dgate, float[] dup, int n);
    }

    /** act = f(gate)·up against {@code f} in float64, with both input gradients. */
    private void checkGated(String op, GatedForward forward, GatedBackward backward, java.util.function.DoubleUnaryOperator f, double gateScale) {
        int n = 20;
        float[] g = random(n, gateScale), u = random(n, 2), r = random(n, 1);
        float[] act = new float[n], dg = new float[n], du = new float[n];
        forward.apply(g, u, act, n);
        backward.apply(g, u, r, dg, du, n);
        check(op, new float[][] {g, u}, in -> {
            double[] o = new double[n];
            for (int i = 0; i < n; i++) o[i] = f.applyAsDouble(in[0][i]) * in[1][i];
            return o;
        }, act, r, dg, du);
    }

    @Test
    void swiglu() {
        checkGated("swiglu", Ops::swiglu, Ops::swigluBackward, OpsGradientTest::silu, 3);
    }

    @Test
    void gegluWithTheTanhGelu() {
        checkGated("geglu", Ops::geglu, Ops::gegluBackward, x -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))), 4);
    }

    @Test
    void logitSoftCap() {
        int n = 16;
        float cap = 3f;
        float[] x = random(n, 8), r = random(n, 1);
        float[] y = x.clone(), dx = r.clone();
        Ops.softCap(y, n, cap);
        Ops.softCapBackward(y, dx, n, cap);
        check("softcap", new float[][] {x}, in -> {
            double[] o = new double[n];
            for (int i = 0; i < n; i++) o[i] = cap * Math.tanh(in[0][i] / cap);
            return o;
        }, y, r, dx);
    }

    @Test
    void tanhAndSigmoid() {
        int n = 12;
        float[] x = random(n, 2), r = random(n, 1);
        float[] out = new float[n], dx = new float[n];
        Ops.tanh(x, out, n);
        Ops.tanhBackward(out, r, dx, n);
        check("tanh", new float[][] {x}, in -> {
            double[] o = new double[n];
            for (int i = 0; i < n; i++) o[i] = Math.tanh(in[0][i]);
            return o;
        }, out, r, dx);

        float[] sig = new float[n], dsig = new float[n];
        for (int i = 0; i < n; i++) {
            sig[i] = Ops.sigmoid(x[i]);
            dsig[i] = Ops.sigmoidBackward(sig[i], r[i]);
        }
        check("sigmoid", new float[][] {x}, in -> {
            double[] o = new double[n];
            for (int i = 0; i < n; i++) o[i] = 1 / (1 + Math.exp(-in[0][i]));
            return o;
        }, sig, r, dsig);
    }

    @Test
    void nextTokenCrossEntropy() {
        int T = 4, V = 9;
        int[] ids = {3, 1, 8, 0};
        float[] logits = random(T * V, 3);
        float[] grad = logits.clone();
        float scale = 0.75f;
        double loss = Ops.crossEntropyAndBackward(grad, ids, T, V, scale);
        Function<double[][], double[]> def = in -> {
            double l = 0;
            for (int t = 0; t < T - 1; t++) {
                double sum = 0;
                for (int j = 0; j < V; j++) sum += Math.exp(in[0][t * V + j]);
                l += Math.log(sum) - in[0][t * V + ids[t + 1]];
            }
            return new double[] {l / (T - 1)};
        };
        check("cross-entropy", new float[][] {logits}, def, new float[] {(float) loss}, new float[] {scale}, grad);
    }

    @Test
    void frozenMatrixViewOfTrainableValuesSeesUpdates() {
        float[] w = {1, 2, 3, 4};
        Param p = Param.trainable("w", w, 2, 2, true);
        w[3] = 10;
        assertThat(p.matrix().get(1, 1)).isEqualTo(10f);
        assertThat(p.matrix()).isInstanceOf(F32Matrix.class);
    }
}
