package org.flexidepth4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Vector API kernels over float[] slices: the element-wise and reduction ops of a transformer layer. */
public final class VectorOps {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private VectorOps() {
    }

    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int j = 0;
        int upper = F.loopBound(n);
        FloatVector acc = FloatVector.zero(F);
        for (; j < upper; j += F.length()) {
            acc = FloatVector.fromArray(F, a, aOff + j).fma(FloatVector.fromArray(F, b, bOff + j), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) sum += a[aOff + j] * b[bOff + j];
        return sum;
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
            FloatVector.fromArray(F, x, off + i).mul(scale).sub(shift).lanewise(VectorOperators.EXP).intoArray(x, off + i);
        }
        for (; i < n; i++) x[off + i] = (float) Math.exp(x[off + i] * scale - shift);
    }

    /** gate[i] = silu(gate[i]) * up[i]: the SwiGLU activation, in place in gate. */
    public static void siluMul(float[] gate, int gOff, float[] up, int uOff, int n) {
        for (int j = 0; j < n; j++) {
            float g = gate[gOff + j];
            gate[gOff + j] = g / (1f + (float) Math.exp(-g)) * up[uOff + j];
        }
    }

    public static void add(float[] src, int srcOff, float[] dst, int dstOff, int n) {
        axpy(1f, src, srcOff, dst, dstOff, n);
    }

    public static int argmax(float[] x, int off, int n) {
        int best = 0;
        for (int j = 1; j < n; j++) if (x[off + j] > x[off + best]) best = j;
        return best;
    }
}
