package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The Learning-to-Skip gate ops against central finite differences of float64 transcriptions of their definitions,
 * with the Gumbel noise fixed: L = Σ out·r (r random), relative error (max abs error / max abs reference) <= 1e-3.
 */
class SkipRouterOpsGradientTest {
    static final double H = 1e-6;
    static final int T = 7, D = 5;
    final SplittableRandom rng = new SplittableRandom(5);

    float[] random(int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((rng.nextDouble() * 2 - 1) * scale);
        return v;
    }

    static double[] d(float[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }

    static double weighted(double[] out, float[] r) {
        double s = 0;
        for (int i = 0; i < out.length; i++) s += out[i] * r[i];
        return s;
    }

    /** The analytic gradient of Σ def(x)·r with respect to input k against central differences of def. */
    static void checkGradient(String what, float[][] inputs, int k, Function<double[][], double[]> def, float[] r, float[] grad) {
        double[][] x = new double[inputs.length][];
        for (int i = 0; i < inputs.length; i++) x[i] = d(inputs[i]);
        double err = 0, scale = 0;
        for (int i = 0; i < x[k].length; i++) {
            double keep = x[k][i];
            x[k][i] = keep + H;
            double plus = weighted(def.apply(x), r);
            x[k][i] = keep - H;
            double minus = weighted(def.apply(x), r);
            x[k][i] = keep;
            double fd = (plus - minus) / (2 * H);
            err = Math.max(err, Math.abs(grad[i] - fd));
            scale = Math.max(scale, Math.abs(fd));
        }
        assertThat(scale).as(what + " has a gradient").isGreaterThan(0);
        assertThat(err / scale).as(what).isLessThanOrEqualTo(1e-3);
    }

    static void checkForward(String what, float[] got, double[] want) {
        double err = 0, scale = 0;
        for (int i = 0; i < want.length; i++) {
            err = Math.max(err, Math.abs(got[i] - want[i]));
            scale = Math.max(scale, Math.abs(want[i]));
        }
        assertThat(err / scale).as(what + " forward").isLessThan(1e-5);
    }

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    /** soft[t] = sigmoid(((l + n)_exec - (l + n)_skip) / tau), the relaxation's definition. */
    static double[] softDef(double[] logits, double[] noise, double tau) {
        double[] s = new double[T];
        for (int t = 0; t < T; t++) s[t] = sigmoid((logits[2 * t + 1] + noise[2 * t + 1] - logits[2 * t] - noise[2 * t]) / tau);
        return s;
    }

    @Test
    void softGumbelGate() {
        float tau = 0.7f;
        float[] logits = random(2 * T, 2), noise = new float[2 * T], r = random(T, 1);
        SkipRouterOps.gumbelNoise(new SplittableRandom(3), 1f, noise, 2 * T);
        float[] soft = new float[T], gate = new float[T], dLogits = new float[2 * T];
        SkipRouterOps.gumbelGate(logits, noise, tau, false, soft, gate, T);
        assertThat(gate).containsExactly(soft);
        checkForward("soft gate", soft, softDef(d(logits), d(noise), tau));
        SkipRouterOps.gumbelGateBackward(soft, r, tau, dLogits, T);
        checkGradient("soft gate d/dlogits", new float[][] {logits}, 0, x -> softDef(x[0], d(noise), tau), r, dLogits);
    }

    @Test
    void hardGateIsTheNoisyArgmaxAndNoNoiseIsTheInferenceDecision() {
        float[] logits = random(2 * T, 2), noise = new float[2 * T];
        SkipRouterOps.gumbelNoise(new SplittableRandom(3), 1f, noise, 2 * T);
        float[] soft = new float[T], gate = new float[T];
        SkipRouterOps.gumbelGate(logits, noise, 1f, true, soft, gate, T);
        int ones = 0;
        for (int t = 0; t < T; t++) {
            boolean exec = logits[2 * t + 1] + noise[2 * t + 1] > logits[2 * t] + noise[2 * t];
            assertThat(gate[t]).isEqualTo(exec ? 1f : 0f);
            ones += exec ? 1 : 0;
        }
        assertThat(ones).isBetween(1, T - 1);
        SkipRouterOps.gumbelGate(logits, null, 1f, true, soft, gate, T);
        for (int t = 0; t < T; t++) assertThat(gate[t]).isEqualTo(logits[2 * t + 1] > logits[2 * t] ? 1f : 0f);
        float[] zero = new float[2 * T];
        SkipRouterOps.gumbelNoise(new SplittableRandom(3), 0f, zero, 2 * T);
        assertThat(zero).containsOnly(0f);
    }

    @Test
    void gumbelNoiseHasTheGumbelMeanAndIsReproducible() {
        int n = 100_000;
        float[] a = new float[n], b = new float[n];
        SkipRouterOps.gumbelNoise(new SplittableRandom(9), 1f, a, n);
        SkipRouterOps.gumbelNoise(new SplittableRandom(9), 1f, b, n);
        assertThat(java.util.Arrays.equals(a, b)).isTrue();
        double mean = 0;
        for (float v : a) mean += v;
        assertThat(mean / n).isCloseTo(0.5772156649, org.assertj.core.data.Offset.offset(0.015)); // Euler–Mascheroni
    }

    @Test
    void densityRegulariser() {
        float target = 0.3f, beta = 0.8f, scale = 0.5f;
        float[] soft = new float[T];
        for (int t = 0; t < T; t++) soft[t] = (float) rng.nextDouble();
        Function<double[][], double[]> def = x -> {
            double m = 0;
            for (double v : x[0]) m += v;
            m /= T;
            return new double[] {beta * (m - target) * (m - target)};
        };
        checkForward("density", new float[] {(float) SkipRouterOps.density(soft, T, target, beta)}, def.apply(new double[][] {d(soft)}));
        float[] dSoft = new float[T];
        SkipRouterOps.densityBackward(soft, T, target, beta, scale, dSoft);
        checkGradient("density d/dsoft", new float[][] {soft}, 0, def, new float[] {scale}, dSoft);
    }

    static double[] gatedDef(double[] h, double[] x, double[] g) {
        double[] out = new double[T * D];
        for (int t = 0; t < T; t++) for (int i = 0; i < D; i++) out[t * D + i] = h[t * D + i] + g[t] * x[t * D + i];
        return out;
    }

    @Test
    void gatedAdd() {
        float[] h = random(T * D, 1), x = random(T * D, 1), g = random(T, 1), r = random(T * D, 1);
        g[2] = 0f;
        g[4] = 1f;
        float[] out = new float[T * D];
        SkipRouterOps.gatedAdd(h, x, g, out, T, D);
        checkForward("gated add", out, gatedDef(d(h), d(x), d(g)));
        for (int i = 2 * D; i < 3 * D; i++) assertThat(out[i]).isEqualTo(h[i]); // gate 0: exact identity
        float[] inPlace = h.clone();
        SkipRouterOps.gatedAdd(inPlace, x, g, inPlace, T, D);
        assertThat(inPlace).containsExactly(out);
        float[] dX = new float[T * D], dG = new float[T];
        SkipRouterOps.gatedAddBackward(x, g, r, dX, dG, T, D);
        float[][] in = {h, x, g};
        Function<double[][], double[]> def = v -> gatedDef(v[0], v[1], v[2]);
        checkGradient("gated add d/dh (identity)", in, 0, def, r, r);
        checkGradient("gated add d/dx", in, 1, def, r, dX);
        checkGradient("gated add d/dgate", in, 2, def, r, dG);
    }

    /**
     * Straight-through: out = h + hard·(a + m) forward; the router-logit gradient of the composed backward equals the
     * exact gradient of h + (hard + s(logits) − s(logits₀))·(a + m) at logits₀, the relaxation with the forward value.
     */
    @Test
    void straightThroughComposition() {
        float tau = 1.3f;
        float[] logits = random(2 * T, 1), noise = new float[2 * T], h = random(T * D, 1), a = random(T * D, 1), m = random(T * D, 1), r = random(T * D, 1);
        SkipRouterOps.gumbelNoise(new SplittableRandom(4), 1f, noise, 2 * T);
        float[] soft = new float[T], gate = new float[T], out = new float[T * D];
        SkipRouterOps.gumbelGate(logits, noise, tau, true, soft, gate, T);
        SkipRouterOps.gatedAdd(h, a, gate, out, T, D);
        SkipRouterOps.gatedAdd(out, m, gate, out, T, D);
        float[] dA = new float[T * D], dM = new float[T * D], dG = new float[T], dLogits = new float[2 * T];
        SkipRouterOps.gatedAddBackward(a, gate, r, dA, dG, T, D);
        SkipRouterOps.gatedAddBackward(m, gate, r, dM, dG, T, D);
        SkipRouterOps.gumbelGateBackward(soft, dG, tau, dLogits, T);
        double[] soft0 = softDef(d(logits), d(noise), tau);
        Function<double[][], double[]> def = x -> {
            double[] s = softDef(x[0], d(noise), tau), g = new double[T];
            for (int t = 0; t < T; t++) g[t] = gate[t] + s[t] - soft0[t];
            double[] am = new double[T * D];
            for (int i = 0; i < T * D; i++) am[i] = (double) a[i] + m[i];
            return gatedDef(d(h), am, g);
        };
        checkForward("straight-through", out, def.apply(new double[][] {d(logits)}));
        checkGradient("straight-through d/dlogits", new float[][] {logits}, 0, def, r, dLogits);
    }
}
