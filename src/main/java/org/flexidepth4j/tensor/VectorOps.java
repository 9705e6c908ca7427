package org.flexidepth4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels over float[] slices: the element-wise and reduction ops of a transformer layer.
 *
 * <p>Every result here is a fixed sequence of IEEE operations, so it is the same float whether the JIT has compiled
 * the code or not: lane sums go through {@link #sum} (a fixed pairwise tree) rather than {@code reduceLanes(ADD)},
 * and exponentials through {@link #exp} rather than {@code lanewise(EXP)}, whose intrinsics and Java fallbacks differ
 * in the last bit (a resumed training run must continue bit for bit). The one-token decode kernels of the weight
 * dtypes ({@link Matrix#dot}) keep the faster {@code reduceLanes(ADD)}: they serve inference only, and training
 * multiplies through {@link Matrix#matmulOrderFixed}.
 */
public final class VectorOps {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Rotations by L/2, L/4, .., 1 lanes: adding each to the vector folds all lanes into lane 0. */
    private static final VectorShuffle<Float>[] FOLDS = folds(F);

    private VectorOps() {
    }

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] folds(VectorSpecies<Float> species) {
        int steps = Integer.numberOfTrailingZeros(species.length());
        VectorShuffle<Float>[] folds = new VectorShuffle[steps];
        for (int k = 0; k < steps; k++) folds[k] = VectorShuffle.iota(species, species.length() >> (k + 1), 1, true);
        return folds;
    }

    /** The sum of the lanes of v (preferred species) in a fixed pairwise order. */
    public static float sum(FloatVector v) {
        for (VectorShuffle<Float> fold : FOLDS) v = v.add(v.rearrange(fold));
        return v.lane(0);
    }

    // Cephes expf: e^x = 2^n * e^r with n = round(x / ln 2), r = x - n ln 2 (ln 2 split in two for exactness).
    private static final float EXP_MIN = -87f, EXP_MAX = 88f, LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer, which lands in the low mantissa bits. */
    private static final float ROUND = 12582912f;
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f,
            P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /** e^x lane-wise (within 2 ulp; inputs clamped to [-87, 88], so tiny results are 2^-126-scale, never 0). */
    public static FloatVector exp(FloatVector x) {
        x = x.max(EXP_MIN).min(EXP_MAX);
        FloatVector t = x.mul(LOG2E).add(ROUND);
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(F, P2)).fma(r, FloatVector.broadcast(F, P3))
                .fma(r, FloatVector.broadcast(F, P4)).fma(r, FloatVector.broadcast(F, P5));
        FloatVector y = p.mul(r.mul(r)).add(r).add(1f);
        FloatVector scale = ((IntVector) t.reinterpretAsInts()).sub(ROUND_BITS - 127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return y.mul(scale);
    }

    /** The scalar twin of {@link #exp(FloatVector)}: the same operations on one float, so both give the same bits. */
    public static float exp(float x) {
        x = Math.min(Math.max(x, EXP_MIN), EXP_MAX);
        float t = x * LOG2E + ROUND;
        float n = t - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(r, P0, P1), r, P2), r, P3), r, P4), r, P5);
        float y = p * (r * r) + r + 1f;
        return y * Float.intBitsToFloat((Float.floatToRawIntBits(t) - (ROUND_BITS - 127)) << 23);
    }

    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int j = 0;
        int upper = F.loopBound(n);
        FloatVector acc = FloatVector.zero(F);
        for (; j < upper; j += F.length()) {
            acc = FloatVector.fromArray(F, a, aOff + j).fma(FloatVector.fromArray(F, b, bOff + j), acc);
        }
        float sum = sum(acc);
        for (; j < n; j++) sum += a[aOff + j] * b[bOff + j];
        return sum;
    }

    /** Index of the first NaN or infinity in x[off .. off+n), or -1: x * 0 is NaN exactly for those, so one vector pass tells. */
    public static int firstNonFinite(float[] x, int off, int n) {
        int j = 0;
        int upper = F.loopBound(n);
        FloatVector acc = FloatVector.zero(F);
        for (; j < upper; j += F.length()) acc = acc.add(FloatVector.fromArray(F, x, off + j).mul(0f));
        float tail = 0f;
        for (; j < n; j++) tail += x[off + j] * 0f;
        if (!acc.test(VectorOperators.IS_NAN).anyTrue() && !Float.isNaN(tail)) return -1;
        for (int i = 0; i < n; i++) if (!Float.isFinite(x[off + i])) return i;
        return -1;
    }

    public static float sumOfSquares(float[] a, int off, int n) {
        return dot(a, off, a, off, n);
    }

    /** y[yOff + j] += alpha * x[xOff + j]. */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        int j = 0;
        int upper = F.loopBound(n);
        FloatVector va = FloatVector.broadcast(F, alpha);
        for (; j < upper; j += F.length()) {
            FloatVector.fromArray(F, x, xOff + j).fma(va, FloatVector.fromArray(F, y, yOff + j)).intoArray(y, yOff + j);
        }
        for (; j < n; j++) y[yOff + j] += alpha * x[xOff + j];
    }

    /** out = x * rsqrt(mean(x^2) + eps) * weight (HF RMSNorm in float32). */
    public static void rmsNorm(float[] x, int xOff, float[] weight, float eps, float[] out, int outOff, int n) {
        float scale = (float) (1.0 / Math.sqrt(sumOfSquares(x, xOff, n) / n + eps));
        int j = 0;
        int upper = F.loopBound(n);
        FloatVector vs = FloatVector.broadcast(F, scale);
        for (; j < upper; j += F.length()) {
            FloatVector.fromArray(F, x, xOff + j).mul(vs).mul(FloatVector.fromArray(F, weight, j)).intoArray(out, outOff + j);
        }
        for (; j < n; j++) out[outOff + j] = x[xOff + j] * scale * weight[j];
    }

    /** x[off + i] = exp(x[off + i] * scale - shift) for i < n (softmax rows from a known log-sum-exp). */
    public static void expScaledShifted(float[] x, int off, int n, float scale, float shift) {
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += F.length()) {
            exp(FloatVector.fromArray(F, x, off + i).mul(scale).sub(shift)).intoArray(x, off + i);
        }
        for (; i < n; i++) x[off + i] = exp(x[off + i] * scale - shift);
    }

    /** gate[i] = silu(gate[i]) * up[i]: the SwiGLU activation, in place in gate. */
    public static void siluMul(float[] gate, int gOff, float[] up, int uOff, int n) {
        int j = 0;
        for (int upper = F.loopBound(n); j < upper; j += F.length()) {
            FloatVector g = FloatVector.fromArray(F, gate, gOff + j);
            g.div(exp(g.neg()).add(1f)).mul(FloatVector.fromArray(F, up, uOff + j)).intoArray(gate, gOff + j);
        }
        for (; j < n; j++) {
            float g = gate[gOff + j];
            gate[gOff + j] = g / (1f + exp(-g)) * up[uOff + j];
        }
    }

    /**
     * gate[i] = gelu(gate[i]) * up[i] with the tanh approximation (Gemma's GeGLU), in place in gate:
     * 0.5 x (1 + tanh(u)) is written x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x³), so it shares {@link #exp}.
     */
    public static void geluTanhMul(float[] gate, int gOff, float[] up, int uOff, int n) {
        int j = 0;
        for (int upper = F.loopBound(n); j < upper; j += F.length()) {
            FloatVector g = FloatVector.fromArray(F, gate, gOff + j);
            FloatVector twiceU = g.mul(g).mul(GELU_CUBIC).add(1f).mul(g).mul(-2 * GELU_SCALE);
            g.div(exp(twiceU).add(1f)).mul(FloatVector.fromArray(F, up, uOff + j)).intoArray(gate, gOff + j);
        }
        for (; j < n; j++) gate[gOff + j] = geluTanh(gate[gOff + j]) * up[uOff + j];
    }

    /** gelu(x) with the tanh approximation, as {@link #geluTanhMul} computes it. */
    public static float geluTanh(float x) {
        return x / (exp((x * x * GELU_CUBIC + 1f) * x * (-2 * GELU_SCALE)) + 1f);
    }

    private static final float GELU_SCALE = (float) Math.sqrt(2 / Math.PI);
    private static final float GELU_CUBIC = 0.044715f;

    public static void add(float[] src, int srcOff, float[] dst, int dstOff, int n) {
        axpy(1f, src, srcOff, dst, dstOff, n);
    }

    public static int argmax(float[] x, int off, int n) {
        int best = 0;
        for (int j = 1; j < n; j++) if (x[off + j] > x[off + best]) best = j;
        return best;
    }

    /** dst[j, i] = src[i, j] for i < m, j < n; src has row stride srcStride, dst is dense [n, m]. */
    public static void transpose(float[] src, int m, int n, int srcStride, float[] dst) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) dst[j * m + i] = src[i * srcStride + j];
        }
    }
}
