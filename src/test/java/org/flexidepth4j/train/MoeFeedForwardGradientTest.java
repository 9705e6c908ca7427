package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.flexidepth4j.model.Experts;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.MoeConfig;
import org.flexidepth4j.model.RopeConfig;
import org.flexidepth4j.tensor.F32Matrix;
import org.flexidepth4j.tensor.Gaussian;
import org.flexidepth4j.tensor.Matrix;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The mixture-of-experts backward (experts' SwiGLU, the top-k weighting with and without renormalisation, the
 * router's softmax, the shared expert and its sigmoid gate) against central differences of a float64 transcription
 * of the forward, for the input and every tensor.
 */
class MoeFeedForwardGradientTest {
    static final int D = 8, EXPERTS = 4, PER_TOKEN = 2, FF = 6, SHARED_FF = 5, T = 5;

    @ParameterizedTest
    @CsvSource({"false,0", "true,0", "false," + SHARED_FF, "true," + SHARED_FF})
    void gradientsMatchFloat64FiniteDifferences(boolean normalize, int sharedFf) {
        MoeConfig moe = new MoeConfig(EXPERTS, PER_TOKEN, FF, normalize, sharedFf);
        SplittableRandom rng = new SplittableRandom(5);
        Matrix[] gate = new Matrix[EXPERTS], up = new Matrix[EXPERTS], down = new Matrix[EXPERTS];
        for (int e = 0; e < EXPERTS; e++) {
            gate[e] = matrix(rng, FF, D, 0.5);
            up[e] = matrix(rng, FF, D, 0.5);
            down[e] = matrix(rng, D, FF, 0.5);
        }
        boolean shared = sharedFf > 0;
        Experts x = new Experts(PER_TOKEN, matrix(rng, EXPERTS, D, 1.0), gate, up, down, shared ? Gaussian.normal(rng, D, 0.5) : null,
                shared ? matrix(rng, sharedFf, D, 0.5) : null, shared ? matrix(rng, sharedFf, D, 0.5) : null, shared ? matrix(rng, D, sharedFf, 0.5) : null);
        ModelConfig c = new ModelConfig("qwen3_moe", D, FF, 1, 2, 2, D / 2, 10, 16, 1e-5f, RopeConfig.plain(10000, false), false, false, true).withMoe(moe);
        MoeFeedForward ffn = new MoeFeedForward(c, 0, x, name -> true, T);
        float[] y = Gaussian.normal(rng, T * D, 1.0), r = Gaussian.normal(rng, T * D, 1.0);
        float[] out = new float[T * D], dy = new float[T * D];
        ffn.forward(y, out, T);
        ffn.backward(y, r, dy, T);

        List<double[]> values = new ArrayList<>();
        for (Param p : ffn.params()) values.add(toDouble(p.value()));
        double[] yd = toDouble(y);
        assertThat(loss(moe, yd, values, r)).isCloseTo(dot(out, r), org.assertj.core.data.Offset.offset(1e-4));

        assertGradient("y", yd, dy, () -> loss(moe, yd, values, r));
        for (int i = 0; i < values.size(); i++) {
            Param p = ffn.params().get(i);
            assertGradient(p.name(), values.get(i), p.grad(), () -> loss(moe, yd, values, r));
        }
    }

    private static void assertGradient(String name, double[] v, float[] analytic, java.util.function.DoubleSupplier loss) {
        double h = 1e-6, err = 0, scale = 0;
        for (int i = 0; i < v.length; i++) {
            double keep = v[i];
            v[i] = keep + h;
            double plus = loss.getAsDouble();
            v[i] = keep - h;
            double minus = loss.getAsDouble();
            v[i] = keep;
            double numeric = (plus - minus) / (2 * h);
            err = Math.max(err, Math.abs(numeric - analytic[i]));
            scale = Math.max(scale, Math.abs(numeric));
        }
        assertThat(scale).as(name + " has a gradient").isGreaterThan(0);
        assertThat(err).as(name + " max abs error").isLessThanOrEqualTo(1e-3 * scale);
    }

    /** Σ out ⊙ r of the float64 forward: router softmax, top-k, weights, experts, shared expert. */
    static double loss(MoeConfig moe, double[] y, List<double[]> p, float[] r) {
        double[] router = p.get(0);
        double sum = 0;
        for (int t = 0; t < T; t++) {
            double[] probs = new double[EXPERTS];
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (int e = 0; e < EXPERTS; e++) {
                probs[e] = dot(router, e * D, y, t * D, D);
                max = Math.max(max, probs[e]);
            }
            for (int e = 0; e < EXPERTS; e++) z += probs[e] = Math.exp(probs[e] - max);
            for (int e = 0; e < EXPERTS; e++) probs[e] /= z;
            int[] chosen = new int[PER_TOKEN];
            boolean[] taken = new boolean[EXPERTS];
            double chosenSum = 0;
            for (int j = 0; j < PER_TOKEN; j++) {
                int best = -1;
                for (int e = 0; e < EXPERTS; e++) if (!taken[e] && (best < 0 || probs[e] > probs[best])) best = e;
                taken[best] = true;
                chosen[j] = best;
                chosenSum += probs[best];
            }
            double[] out = new double[D];
            for (int e : chosen) {
                double w = moe.normalizeTopK() ? probs[e] / chosenSum : probs[e];
                swiglu(p.get(1 + 3 * e), p.get(2 + 3 * e), p.get(3 + 3 * e), FF, y, t, w, out);
            }
            if (moe.hasSharedExpert()) {
                int s = 1 + 3 * EXPERTS;
                double gate = 1 / (1 + Math.exp(-dot(p.get(s), 0, y, t * D, D)));
                swiglu(p.get(s + 1), p.get(s + 2), p.get(s + 3), moe.sharedIntermediateSize(), y, t, gate, out);
            }
            for (int i = 0; i < D; i++) sum += out[i] * r[t * D + i];
        }
        return sum;
    }

    /** out += w · down(silu(gate y_t) ⊙ up y_t). */
    private static void swiglu(double[] gate, double[] up, double[] down, int ff, double[] y, int t, double w, double[] out) {
        double[] act = new double[ff];
        for (int f = 0; f < ff; f++) {
            double g = dot(gate, f * D, y, t * D, D);
            act[f] = g / (1 + Math.exp(-g)) * dot(up, f * D, y, t * D, D);
        }
        for (int i = 0; i < D; i++) out[i] += w * dot(down, i * ff, act, 0, ff);
    }

    private static double dot(double[] a, int ao, double[] b, int bo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
        return s;
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    private static double[] toDouble(float[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }

    private static Matrix matrix(SplittableRandom rng, int rows, int cols, double std) {
        return F32Matrix.of(Gaussian.normal(rng, rows * cols, std), rows, cols);
    }
}
