package org.flexidepth4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The one float matrix-multiply kernel: c = a·b on row-major float arrays with offsets and leading dimensions,
 * register-blocked as {@value #MR} rows x 2 vectors of columns (12 accumulators, 2 loads + 6 broadcasts per step of
 * the shared dimension: the BLIS shape for 16 vector registers). The multi-token matmul of every weight dtype, its
 * input-gradient backward and the training attention all run through it. Each output element is one fma chain in
 * the order of the shared dimension, whatever block it falls in, so results do not depend on how callers split rows
 * or columns between threads.
 */
public final class Gemm {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Rows of a per register block. */
    public static final int MR = 6;
    /** Columns of b per register block: two vectors. */
    public static final int NR = 2 * F.length();

    private Gemm() {
    }

    /**
     * c[i, j] = (accumulate ? c[i, j] : 0) + sum over k < depth of a[i, k] * b[k, j] for i < m, j < n, with
     * a[i, k] = a[aOff + i * lda + k], b[k, j] = b[bOff + k * ldb + j], c[i, j] = c[cOff + i * ldc + j].
     */
    public static void multiply(int m, int n, int depth, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                float[] c, int cOff, int ldc, boolean accumulate) {
        int vectorCols = n - n % NR;
        for (int i = 0; i < m; i += MR) {
            int rows = Math.min(MR, m - i);
            int ai = aOff + i * lda, ci = cOff + i * ldc;
            for (int j = 0; j < vectorCols; j += NR) {
                if (rows == MR) block(a, ai, lda, b, bOff + j, ldb, depth, c, ci + j, ldc, accumulate);
                else for (int r = 0; r < rows; r++) row(a, ai + r * lda, b, bOff + j, ldb, depth, c, ci + r * ldc + j, accumulate);
            }
            for (int r = 0; r < rows; r++) {
                for (int j = vectorCols; j < n; j++) {
                    float s = accumulate ? c[ci + r * ldc + j] : 0f;
                    for (int k = 0; k < depth; k++) s = Math.fma(a[ai + r * lda + k], b[bOff + k * ldb + j], s);
                    c[ci + r * ldc + j] = s;
                }
            }
        }
    }

    /** One full MR x NR register block. */
    private static void block(float[] a, int aOff, int lda, float[] b, int bOff, int ldb, int depth,
                              float[] c, int cOff, int ldc, boolean accumulate) {
        int L = F.length();
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate) {
            c00 = FloatVector.fromArray(F, c, cOff); c01 = FloatVector.fromArray(F, c, cOff + L);
            c10 = FloatVector.fromArray(F, c, cOff + ldc); c11 = FloatVector.fromArray(F, c, cOff + ldc + L);
            c20 = FloatVector.fromArray(F, c, cOff + 2 * ldc); c21 = FloatVector.fromArray(F, c, cOff + 2 * ldc + L);
            c30 = FloatVector.fromArray(F, c, cOff + 3 * ldc); c31 = FloatVector.fromArray(F, c, cOff + 3 * ldc + L);
            c40 = FloatVector.fromArray(F, c, cOff + 4 * ldc); c41 = FloatVector.fromArray(F, c, cOff + 4 * ldc + L);
            c50 = FloatVector.fromArray(F, c, cOff + 5 * ldc); c51 = FloatVector.fromArray(F, c, cOff + 5 * ldc + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = FloatVector.zero(F);
        }
        int a0 = aOff, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (int k = 0; k < depth; k++) {
            int bk = bOff + k * ldb;
            FloatVector b0 = FloatVector.fromArray(F, b, bk), b1 = FloatVector.fromArray(F, b, bk + L);
            FloatVector v = FloatVector.broadcast(F, a[a0 + k]);
            c00 = b0.fma(v, c00); c01 = b1.fma(v, c01);
            v = FloatVector.broadcast(F, a[a1 + k]);
            c10 = b0.fma(v, c10); c11 = b1.fma(v, c11);
            v = FloatVector.broadcast(F, a[a2 + k]);
            c20 = b0.fma(v, c20); c21 = b1.fma(v, c21);
            v = FloatVector.broadcast(F, a[a3 + k]);
            c30 = b0.fma(v, c30); c31 = b1.fma(v, c31);
            v = FloatVector.broadcast(F, a[a4 + k]);
            c40 = b0.fma(v, c40); c41 = b1.fma(v, c41);
            v = FloatVector.broadcast(F, a[a5 + k]);
            c50 = b0.fma(v, c50); c51 = b1.fma(v, c51);
        }
        c00.intoArray(c, cOff); c01.intoArray(c, cOff + L);
        c10.intoArray(c, cOff + ldc); c11.intoArray(c, cOff + ldc + L);
        c20.intoArray(c, cOff + 2 * ldc); c21.intoArray(c, cOff + 2 * ldc + L);
        c30.intoArray(c, cOff + 3 * ldc); c31.intoArray(c, cOff + 3 * ldc + L);
        c40.intoArray(c, cOff + 4 * ldc); c41.intoArray(c, cOff + 4 * ldc + L);
        c50.intoArray(c, cOff + 5 * ldc); c51.intoArray(c, cOff + 5 * ldc + L);
    }

    /** One row of a against NR columns of b (the rows left over after the full blocks). */
    private static void row(float[] a, int aOff, float[] b, int bOff, int ldb, int depth, float[] c, int cOff,
                            boolean accumulate) {
        int L = F.length();
        FloatVector c0 = accumulate ? FloatVector.fromArray(F, c, cOff) : FloatVector.zero(F);
        FloatVector c1 = accumulate ? FloatVector.fromArray(F, c, cOff + L) : FloatVector.zero(F);
        for (int k = 0; k < depth; k++) {
            FloatVector v = FloatVector.broadcast(F, a[aOff + k]);
            c0 = FloatVector.fromArray(F, b, bOff + k * ldb).fma(v, c0);
            c1 = FloatVector.fromArray(F, b, bOff + k * ldb + L).fma(v, c1);
        }
        c0.intoArray(c, cOff);
        c1.intoArray(c, cOff + L);
    }
}
