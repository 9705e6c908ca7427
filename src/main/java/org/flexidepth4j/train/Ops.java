package org.flexidepth4j.train;

import org.flexidepth4j.tensor.Attention;
import org.flexidepth4j.tensor.Gemm;
import org.flexidepth4j.tensor.Parallel;
import org.flexidepth4j.tensor.VectorOps;

/**
 * Forward and backward of every training op, side by side (llm.c style). Activations are row-major [T, n] float
 * arrays; backward functions ADD into their input-gradient arguments (so branches that meet simply accumulate) and
 * into the gradient of trainable weights. Frozen weights cost only their input gradient (dX = dY · W).
 *
 * <p>Precision: the ops run in float32 for speed; their analytic gradients are checked (OpsGradientTest) against
 * central finite differences of a float64 transcription of each op's definition, so the check itself carries no
 * float32 rounding and the float32 forward is checked against the same definition.
 */
public final class Ops {
    /** Below this many multiply-adds per weight-gradient, one thread does it all. */
    private static final long PARALLEL_MIN_WORK = 1L << 15;

    private Ops() {
    }

    // ---- linear: out[T, rows] = x[T, cols] · Wᵀ -------------------------------------------------------------

    /** Through {@link org.flexidepth4j.tensor.Matrix#matmulOrderFixed}: a resumed run must continue bit for bit. */
    public static void linear(Param w, float[] x, float[] out, int T) {
        w.matrix().matmulOrderFixed(x, out, T);
    }

    /** dx (+)= dy · W when dx is not null; grad(W) += dyᵀ · x when W is trainable. */
    public static void linearBackward(Param w, float[] x, float[] dy, float[] dx, int T) {
        if (dx != null) w.matrix().matmulTransposed(dy, dx, T);
        if (!w.trainable()) return;
        int rows = w.rows(), cols = w.cols();
        float[] g = w.grad();
        int minRows = (int) Math.max(1, PARALLEL_MIN_WORK / Math.max(1L, (long) cols * T));
        Parallel.pool().forRange(rows, minRows, (start, end) -> {
            for (int r = start; r < end; r++) {
                for (int t = 0; t < T; t++) {
                    float d = dy[t * rows + r];
                    if (d != 0f) VectorOps.axpy(d, x, t * cols, g, r * cols, cols);
                }
            }
        });
    }

    /** out[t] += bias for every row. */
    public static void addBias(float[] bias, float[] out, int T, int n) {
        for (int t = 0; t < T; t++) VectorOps.add(bias, 0, out, t * n, n);
    }

    /** grad(bias) += sum over rows of dy. */
    public static void addBiasBackward(Param bias, float[] dy, int T) {
        if (!bias.trainable()) return;
        int n = bias.size();
        for (int t = 0; t < T; t++) VectorOps.add(dy, t * n, bias.grad(), 0, n);
    }

    // ---- RMSNorm over groups of n: out = x * rsqrt(mean(x²) + eps) * w --------------------------------------

    /** Normalises each of the {@code groups} consecutive slices of length n (rows, or heads within rows). */
    public static void rmsNorm(float[] x, float[] w, float eps, float[] out, int groups, int n) {
        for (int i = 0; i < groups; i++) VectorOps.rmsNorm(x, i * n, w, eps, out, i * n, n);
    }

    /**
     * dx += s·w·dout − x·s³/n · Σ_k dout_k w_k x_k and grad(w) += dout·x·s, with s = rsqrt(mean(x²) + eps)
     * recomputed from x (cheaper than storing it).
     */
    public static void rmsNormBackward(float[] x, Param w, float eps, float[] dout, float[] dx, int groups, int n) {
        float[] wv = w.vector();
        float[] gw = w.grad();
        for (int i = 0; i < groups; i++) {
            int o = i * n;
            float s = (float) (1.0 / Math.sqrt(VectorOps.sumOfSquares(x, o, n) / n + eps));
            double dot = 0;
            for (int j = 0; j < n; j++) dot += dout[o + j] * wv[j] * x[o + j];
            float c = (float) (dot * s * s * s / n);
            for (int j = 0; j < n; j++) {
                dx[o + j] += s * wv[j] * dout[o + j] - c * x[o + j];
                if (gw != null) gw[j] += dout[o + j] * x[o + j] * s;
            }
        }
    }

    // ---- causal grouped-query attention ------------------------------------------------------------------------

    /**
     * out[t, h] = Σ_{s≤t} softmax_s(q[t,h]·k[s,g]/√hd) v[s,g] with g = h / (heads/kvHeads); keeps the log-sum-exp
     * of every (t, h) so the backward recomputes the probabilities instead of storing [heads, T, T]. The block
     * kernel is {@link Attention#forward}, shared with inference.
     */
    public static void attention(float[] q, float[] k, float[] v, float[] out, float[] lse, int T, int heads, int kvHeads, int hd) {
        attention(q, k, v, out, lse, T, heads, kvHeads, hd, Attention.Scores.plain(hd));
    }

    /** {@link #attention} with the scores as {@code scores} says (Gemma's scale and soft-cap, sliding windows). */
    public static void attention(float[] q, float[] k, float[] v, float[] out, float[] lse, int T, int heads, int kvHeads, int hd,
                                 Attention.Scores scores) {
        Attention.forward(q, transposeHeads(k, T, kvHeads, hd), T, v, out, lse, T, t -> t, heads, kvHeads, hd, scores);
    }

    /** kt[g][d][s] = k[s, g * hd + d]: keys of each KV head transposed, so scores are a plain {@link Gemm}. */
    private static float[] transposeHeads(float[] x, int T, int kvHeads, int hd) {
        float[] xt = new float[T * kvHeads * hd];
        VectorOps.transpose(x, T, kvHeads * hd, kvHeads * hd, xt);
        return xt;
    }

    /**
     * dq, dk, dv += the attention backward: with p_s recomputed from lse, dp_s = dout·v_s, ds = p_s (dp_s − dout·out),
     * dq_t += ds k_s/√hd, dk_s += ds q_t/√hd, dv_s += p_s dout; each a {@link Gemm} over a query block. Parallel over
     * query heads: each head owns its dq columns and accumulates its share of dk/dv in a private [T, hd] buffer; the
     * buffers of a KV group are then added in head order, so the result does not depend on the thread count.
     */
    public static void attentionBackward(float[] q, float[] k, float[] v, float[] out, float[] lse, float[] dout,
                                         float[] dq, float[] dk, float[] dv, int T, int heads, int kvHeads, int hd) {
        attentionBackward(q, k, v, out, lse, dout, dq, dk, dv, T, heads, kvHeads, hd, Attention.Scores.plain(hd));
    }

    /**
     * {@link #attentionBackward} of {@link #attention} with {@code scores}: keys outside a row's window have p = 0;
     * a soft-capped score s = cap·tanh(scale·q·k / cap) passes ds·scale·(1 − (s/cap)²) to q·k, with s recomputed
     * from p and lse (s = ln p + lse).
     */
    public static void attentionBackward(float[] q, float[] k, float[] v, float[] out, float[] lse, float[] dout,
                                         float[] dq, float[] dk, float[] dv, int T, int heads, int kvHeads, int hd, Attention.Scores scores) {
        int qd = heads * hd, kvd = kvHeads * hd, group = heads / kvHeads;
        float scale = scores.scale(), cap = scores.softCap();
        float[] kt = transposeHeads(k, T, kvHeads, hd), vt = transposeHeads(v, T, kvHeads, hd);
        float[] dkHead = new float[heads * T * hd], dvHead = new float[heads * T * hd];
        Parallel.pool().forRange(heads, 1, (start, end) -> {
            int block = Attention.QUERY_BLOCK;
            float[] p = new float[block * T], ds = new float[block * T], transposed = new float[T * block];
            for (int h = start; h < end; h++) {
                int ko = (h / group) * hd, po = h * T * hd;
                for (int t0 = 0; t0 < T; t0 += block) {
                    int m = Math.min(block, T - t0), qo = t0 * qd + h * hd;
                    int n = Attention.probabilities(q, kt, T, h, heads, group, hd, t0, m, t -> t, p, lse, true, scores);
                    Gemm.multiply(m, n, hd, dout, qo, qd, vt, ko * T, T, ds, 0, T, false);
                    for (int i = 0; i < m; i++) {
                        int t = t0 + i, row = i * T;
                        float delta = VectorOps.dot(dout, t * qd + h * hd, out, t * qd + h * hd, hd);
                        for (int s = 0; s <= t; s++) ds[row + s] = p[row + s] * (ds[row + s] - delta) * scale;
                        if (cap > 0) {
                            float shift = lse[t * heads + h];
                            for (int s = scores.firstKey(t); s <= t; s++) {
                                if (p[row + s] == 0f) continue;
                                float capped = ((float) Math.log(p[row + s]) + shift) / cap;
                                ds[row + s] *= 1f - capped * capped;
                            }
                        }
                        java.util.Arrays.fill(ds, row + t + 1, row + n, 0f);
                    }
                    Gemm.multiply(m, hd, n, ds, 0, T, k, ko, kvd, dq, qo, qd, true);
                    VectorOps.transpose(ds, m, n, T, transposed);
                    Gemm.multiply(n, hd, m, transposed, 0, m, q, qo, qd, dkHead, po, hd, true);
                    VectorOps.transpose(p, m, n, T, transposed);
                    Gemm.multiply(n, hd, m, transposed, 0, m, dout, qo, qd, dvHead, po, hd, true);
                }
            }
        });
        for (int h = 0; h < heads; h++) {
            int ko = (h / group) * hd, po = h * T * hd;
            for (int s = 0; s < T; s++) {
                VectorOps.add(dkHead, po + s * hd, dk, s * kvd + ko, hd);
                VectorOps.add(dvHead, po + s * hd, dv, s * kvd + ko, hd);
            }
        }
    }

    // ---- SwiGLU: act = silu(gate) * up ------------------------------------------------------------------------

    public static void swiglu(float[] gate, float[] up, float[] act, int n) {
        System.arraycopy(gate, 0, act, 0, n);
        VectorOps.siluMul(act, 0, up, 0, n);
    }

    /** dgate += dact·up·σ(g)(1 + g(1 − σ(g))), dup += dact·silu(g). */
    public static void swigluBackward(float[] gate, float[] up, float[] dact, float[] dgate, float[] dup, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            float sig = 1f / (1f + (float) Math.exp(-g));
            dgate[i] += dact[i] * up[i] * sig * (1f + g * (1f - sig));
            dup[i] += dact[i] * g * sig;
        }
    }

    // ---- GeGLU (Gemma): act = gelu_tanh(gate) * up -------------------------------------------------------------

    public static void geglu(float[] gate, float[] up, float[] act, int n) {
        System.arraycopy(gate, 0, act, 0, n);
        VectorOps.geluTanhMul(act, 0, up, 0, n);
    }

    /**
     * dgate += dact·up·gelu'(g), dup += dact·gelu(g); with gelu(g) = g·σ(2u), u = √(2/π)(g + 0.044715 g³):
     * gelu'(g) = σ + g·σ(1 − σ)·2u'.
     */
    public static void gegluBackward(float[] gate, float[] up, float[] dact, float[] dgate, float[] dup, int n) {
        double c = Math.sqrt(2 / Math.PI);
        for (int i = 0; i < n; i++) {
            double g = gate[i], u = c * (g + 0.044715 * g * g * g), sig = 1 / (1 + Math.exp(-2 * u));
            double derivative = sig + g * sig * (1 - sig) * 2 * c * (1 + 3 * 0.044715 * g * g);
            dgate[i] += (float) (dact[i] * up[i] * derivative);
            dup[i] += dact[i] * VectorOps.geluTanh(gate[i]);
        }
    }

    // ---- soft-capping (Gemma 2's final logits): y = cap·tanh(x / cap), in place ------------------------------------

    public static void softCap(float[] x, int n, float cap) {
        for (int i = 0; i < n; i++) x[i] = cap * (float) StrictMath.tanh(x[i] / cap);
    }

    /** d in place: d·(1 − (y/cap)²) given the capped values y. */
    public static void softCapBackward(float[] capped, float[] d, int n, float cap) {
        for (int i = 0; i < n; i++) {
            float y = capped[i] / cap;
            d[i] *= 1f - y * y;
        }
    }

    // ---- cross-entropy of next-token prediction ------------------------------------------------------------------

    /**
     * Mean cross-entropy of rows 0..T-2 of logits [T, V] predicting ids[1..T-1]. Replaces those rows of logits by
     * the gradient of {@code scale} × the loss ((softmax − onehot) · scale / (T−1)); row T-1 becomes zero.
     */
    public static double crossEntropyAndBackward(float[] logits, int[] ids, int T, int V, float scale) {
        double[] rowLoss = new double[T - 1];
        Parallel.pool().forRange(T - 1, 8, (start, end) -> {
            for (int t = start; t < end; t++) {
                int o = t * V;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < V; j++) max = Math.max(max, logits[o + j]);
                double sum = 0;
                for (int j = 0; j < V; j++) sum += Math.exp(logits[o + j] - max);
                int target = ids[t + 1];
                rowLoss[t] = Math.log(sum) + max - logits[o + target];
                float c = (float) (scale / (T - 1) / sum);
                for (int j = 0; j < V; j++) logits[o + j] = (float) Math.exp(logits[o + j] - max) * c;
                logits[o + target] -= scale / (T - 1);
            }
        });
        java.util.Arrays.fill(logits, (T - 1) * V, T * V, 0f);
        double loss = 0;
        for (double l : rowLoss) loss += l;
        return loss / (T - 1);
    }

    // ---- element-wise activations of the router ------------------------------------------------------------------

    public static void tanh(float[] x, float[] out, int n) {
        for (int i = 0; i < n; i++) out[i] = (float) Math.tanh(x[i]);
    }

    /** dx += dout·(1 − out²) given out = tanh(x). */
    public static void tanhBackward(float[] out, float[] dout, float[] dx, int n) {
        for (int i = 0; i < n; i++) dx[i] += dout[i] * (1f - out[i] * out[i]);
    }

    public static float sigmoid(float x) {
        return 1f / (1f + (float) Math.exp(-x));
    }

    /** d(logit) given g = sigmoid(logit) and dg. */
    public static float sigmoidBackward(float g, float dg) {
        return dg * g * (1f - g);
    }
}
