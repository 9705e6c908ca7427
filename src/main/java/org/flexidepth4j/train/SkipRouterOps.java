package org.flexidepth4j.train;

import java.util.SplittableRandom;
import org.flexidepth4j.tensor.VectorOps;

/**
 * Forward and backward of the Learning-to-Skip gate (METHODS.md section 2), beside {@link Ops} and in its conventions
 * (backward functions ADD into gradients). Router logits are [T, 2] rows of (skip, execute).
 *
 * <p>Straight-through Gumbel-softmax: with z = (logits + noise) / tau, the soft execute probability is
 * s = softmax(z)[execute] = sigmoid(z_execute - z_skip); the forward gate is the hard one-hot (1 iff z_execute >
 * z_skip) and the backward treats d(gate)/d(s) as 1. The gated layer is out = h + gate * (Block(h) - h), with
 * Block(h) - h = a + m (attention output plus FFN output), so a skip is the exact identity; per module each of a and
 * m has its own gate.
 */
public final class SkipRouterOps {
    public static final int SKIP = 0, EXECUTE = 1;

    private SkipRouterOps() {
    }

    /** Standard Gumbel noise -log(-log U) times {@code scale} into out[0..n), from its own stream. */
    public static void gumbelNoise(SplittableRandom rng, float scale, float[] out, int n) {
        for (int i = 0; i < n; i++) {
            double u = ((rng.nextLong() >>> 11) + 0.5) * 0x1.0p-53; // strictly inside (0, 1)
            out[i] = scale == 0f ? 0f : (float) (-Math.log(-Math.log(u)) * scale);
        }
    }

    /**
     * soft[t] = sigmoid(((logits + noise)[t, execute] - (logits + noise)[t, skip]) / tau); gate[t] = hard ?
     * (execute wins ? 1 : 0) : soft[t]. {@code noise} may be null (no noise, the inference decision).
     */
    public static void gumbelGate(float[] logits, float[] noise, float tau, boolean hard, float[] soft, float[] gate, int T) {
        for (int t = 0; t < T; t++) {
            float diff = logits[2 * t + EXECUTE] - logits[2 * t + SKIP];
            if (noise != null) diff += noise[2 * t + EXECUTE] - noise[2 * t + SKIP];
            soft[t] = Ops.sigmoid(diff / tau);
            gate[t] = hard ? (diff > 0 ? 1f : 0f) : soft[t];
        }
    }

    /** dlogits += the gradient given dsoft (straight-through: the hard gate's gradient is passed as dsoft). */
    public static void gumbelGateBackward(float[] soft, float[] dSoft, float tau, float[] dLogits, int T) {
        for (int t = 0; t < T; t++) {
            float dz = dSoft[t] * soft[t] * (1f - soft[t]) / tau;
            dLogits[2 * t + EXECUTE] += dz;
            dLogits[2 * t + SKIP] -= dz;
        }
    }

    /** Density regulariser of one layer: beta * (r - P)^2 with r = mean over tokens of the soft execute probability. */
    public static double density(float[] soft, int T, float target, float beta) {
        double r = mean(soft, T);
        return beta * (r - target) * (r - target);
    }

    /** dsoft[t] += scale * 2 beta (r - P) / T. */
    public static void densityBackward(float[] soft, int T, float target, float beta, float scale, float[] dSoft) {
        float g = (float) (scale * 2 * beta * (mean(soft, T) - target) / T);
        for (int t = 0; t < T; t++) dSoft[t] += g;
    }

    private static double mean(float[] v, int T) {
        double s = 0;
        for (int t = 0; t < T; t++) s += v[t];
        return s / T;
    }

    /**
     * out = h + gate·x row by row ({@code out} may be {@code h}: in place); a row with gate 0 stays exactly h. A
     * layer-routed block is gatedAdd(gatedAdd(h, a, g), m, g) = h + g·(a + m); per module, h1 = gatedAdd(h, a, g_a)
     * and out = gatedAdd(h1, m, g_f).
     */
    public static void gatedAdd(float[] h, float[] x, float[] gate, float[] out, int T, int d) {
        if (out != h) System.arraycopy(h, 0, out, 0, T * d);
        for (int t = 0; t < T; t++) if (gate[t] != 0f) VectorOps.axpy(gate[t], x, t * d, out, t * d, d);
    }

    /** dx += gate·dout, dgate[t] += dout·x; (dh += dout, the identity, is the caller's). */
    public static void gatedAddBackward(float[] x, float[] gate, float[] dOut, float[] dX, float[] dGate, int T, int d) {
        for (int t = 0; t < T; t++) {
            dGate[t] += VectorOps.dot(dOut, t * d, x, t * d, d);
            if (gate[t] != 0f) VectorOps.axpy(gate[t], dOut, t * d, dX, t * d, d);
        }
    }
}
