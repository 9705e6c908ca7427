package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A 2-D weight matrix [rows, cols] kept in its stored dtype (no up-front conversion to float). Every consumer
 * (inference, training, evaluation) multiplies through {@link #matmul}, so each dtype has exactly one kernel: its
 * {@link #dot} for one token and its {@link #readRow} for the multi-token tile kernel of {@link #matmulRows}.
 */
public abstract class Matrix {
    /**
     * Below this many multiply-adds (~30 us on one core) a matmul runs on the calling thread: the hand-off would
     * cost more. Measured on the 2-core machine: tinylm (d = 256) decode on 2 threads went from 82-90 to 179-286
     * tok/s when its 256 x 256 projections stopped being split (threshold 2^15 -> 2^18).
     */
    private static final long PARALLEL_MIN_WORK = 1L << 18;

    protected final int rows;
    protected final int cols;

    protected Matrix(int rows, int cols) {
        this.rows = rows;
        this.cols = cols;
    }

    public final int rows() {
        return rows;
    }

    public final int cols() {
        return cols;
    }

    public abstract DType dtype();

    /** Bytes this matrix occupies in its stored form. */
    public long byteSize() {
        return dtype().byteSize((long) rows * cols);
    }

    /** The raw storage; used by writers and by kernels of the same dtype. */
    public abstract MemorySegment segment();

    /** sum over j of W[row, j] * x[xOffset + j]. */
    public abstract float dot(int row, float[] x, int xOffset);

    /** Dequantizes row {@code row} into dst[dstOffset .. dstOffset + cols). */
    public abstract void readRow(int row, float[] dst, int dstOffset);

    /** Returns one element as float (slow path for tests and tools). */
    public float get(int row, int col) {
        float[] tmp = new float[cols];
        readRow(row, tmp, 0);
        return tmp[col];
    }

    /** out[t, r] = sum_j W[r, j] * x[t, j] for t in [0, tokens): x is [tokens, cols], out is [tokens, rows], both dense. */
    public final void matmul(float[] x, float[] out, int tokens) {
        matmul(x, 0, cols, out, 0, rows, tokens);
    }

    /** Strided form: row t of x starts at xOffset + t * xStride, row t of out at outOffset + t * outStride. */
    public final void matmul(float[] x, int xOffset, int xStride, float[] out, int outOffset, int outStride, int tokens) {
        long work = (long) rows * cols * tokens;
        if (work < PARALLEL_MIN_WORK) {
            matmulRows(x, xOffset, xStride, out, outOffset, outStride, tokens, 0, rows);
            return;
        }
        int minRows = (int) Math.max(1, PARALLEL_MIN_WORK / ((long) cols * tokens));
        Parallel.pool().forRange(rows, minRows,
                (start, end) -> matmulRows(x, xOffset, xStride, out, outOffset, outStride, tokens, start, end));
    }

    /**
     * Output rows [rowStart, rowEnd) for every token. One token: a {@link #dot} per row (decode is bound by
     * reading the weights once). Several tokens: rows are dequantized {@value #TILE_ROWS} at a time into a float
     * tile and multiplied against the tokens with register blocking ({@value #TILE_ROWS} rows x 2 tokens of
     * accumulators), so each dtype needs only its dot and readRow, and the dequantization cost is shared by all
     * tokens.
     */
    protected void matmulRows(float[] x, int xOffset, int xStride, float[] out, int outOffset, int outStride,
                              int tokens, int rowStart, int rowEnd) {
        if (tokens == 1) {
            for (int r = rowStart; r < rowEnd; r++) out[outOffset + r] = dot(r, x, xOffset);
            return;
        }
        float[] tile = new float[TILE_ROWS * cols];
        // Tokens go in chunks whose activations stay in L2 while every row block of the range passes over them;
        // the weights are re-read once per chunk, which costs far less than streaming all activations per row block.
        int chunk = Math.max(2, Math.min(tokens, X_CHUNK_FLOATS / cols)) & ~1;
        for (int t0 = 0; t0 < tokens; t0 += chunk) {
            int t1 = Math.min(tokens, t0 + chunk);
            for (int r = rowStart; r < rowEnd; r += TILE_ROWS) {
                int n = Math.min(TILE_ROWS, rowEnd - r);
                for (int i = 0; i < n; i++) readRow(r + i, tile, i * cols);
                int t = t0;
                if (n == TILE_ROWS) {
                    for (; t + 1 < t1; t += 2) {
                        int x0 = xOffset + t * xStride;
                        tile4x2(tile, cols, x, x0, x0 + xStride, out, outOffset + t * outStride + r, outStride);
                    }
                }
                for (; t < t1; t++) {
                    for (int i = 0; i < n; i++) out[outOffset + t * outStride + r + i] = VectorOps.dot(tile, i * cols, x, xOffset + t * xStride, cols);
                }
            }
        }
    }

    /** Activation floats per token chunk of the multi-token kernel: 256 KiB, half of a typical L2. */
    private static final int X_CHUNK_FLOATS = 64 * 1024;
    static final int TILE_ROWS = 4;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /** out[o + i] and out[o + outStride + i] for the 4 tile rows i against tokens at x0 and x1. */
    private static void tile4x2(float[] w, int n, float[] x, int x0, int x1, float[] out, int o, int outStride) {
        FloatVector a00 = FloatVector.zero(F), a10 = FloatVector.zero(F), a20 = FloatVector.zero(F), a30 = FloatVector.zero(F);
        FloatVector a01 = FloatVector.zero(F), a11 = FloatVector.zero(F), a21 = FloatVector.zero(F), a31 = FloatVector.zero(F);
        int upper = F.loopBound(n);
        int j = 0;
        for (; j < upper; j += F.length()) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + j), v1 = FloatVector.fromArray(F, x, x1 + j);
            FloatVector w0 = FloatVector.fromArray(F, w, j);
            a00 = w0.fma(v0, a00);
            a01 = w0.fma(v1, a01);
            FloatVector w1 = FloatVector.fromArray(F, w, n + j);
            a10 = w1.fma(v0, a10);
            a11 = w1.fma(v1, a11);
            FloatVector w2 = FloatVector.fromArray(F, w, 2 * n + j);
            a20 = w2.fma(v0, a20);
            a21 = w2.fma(v1, a21);
            FloatVector w3 = FloatVector.fromArray(F, w, 3 * n + j);
            a30 = w3.fma(v0, a30);
            a31 = w3.fma(v1, a31);
        }
        float s00 = a00.reduceLanes(VectorOperators.ADD), s10 = a10.reduceLanes(VectorOperators.ADD);
        float s20 = a20.reduceLanes(VectorOperators.ADD), s30 = a30.reduceLanes(VectorOperators.ADD);
        float s01 = a01.reduceLanes(VectorOperators.ADD), s11 = a11.reduceLanes(VectorOperators.ADD);
        float s21 = a21.reduceLanes(VectorOperators.ADD), s31 = a31.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
            float v0 = x[x0 + j], v1 = x[x1 + j];
            s00 += w[j] * v0;
            s01 += w[j] * v1;
            s10 += w[n + j] * v0;
            s11 += w[n + j] * v1;
            s20 += w[2 * n + j] * v0;
            s21 += w[2 * n + j] * v1;
            s30 += w[3 * n + j] * v0;
            s31 += w[3 * n + j] * v1;
        }
        out[o] = s00;
        out[o + 1] = s10;
        out[o + 2] = s20;
        out[o + 3] = s30;
        out[o + outStride] = s01;
        out[o + outStride + 1] = s11;
        out[o + outStride + 2] = s21;
        out[o + outStride + 3] = s31;
    }

    /**
     * Backward of {@link #matmul} for the input: dx[t, j] += sum_r dy[t, r] * W[r, j], dy is [tokens, rows], dx is
     * [tokens, cols]. Parallel over tokens (each thread reads every row once into its own buffer), so the sums for
     * a token are always taken in the same order.
     */
    public void matmulTransposed(float[] dy, float[] dx, int tokens) {
        long perToken = (long) rows * cols;
        int minTokens = perToken * tokens < PARALLEL_MIN_WORK ? tokens : (int) Math.max(1, PARALLEL_MIN_WORK / perToken);
        Parallel.pool().forRange(tokens, minTokens, (start, end) -> {
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                readRow(r, row, 0);
                for (int t = start; t < end; t++) {
                    float g = dy[t * rows + r];
                    if (g != 0f) VectorOps.axpy(g, row, 0, dx, t * cols, cols);
                }
            }
        });
    }

    /** A matrix of the first {@code n} rows (used for row slices of fused tensors). */
    public abstract Matrix rowSlice(int first, int n);
}
