package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A 2-D weight matrix [rows, cols] kept in its stored dtype (no up-front conversion to float). Every consumer
 * (inference, training, evaluation) multiplies through {@link #matmul}, so each dtype has exactly one kernel: its
 * {@link #dot} (and, for speed, an optional override of {@link #matmulRows}).
 */
public abstract class Matrix {
    /** Below this many multiply-adds a matmul runs on the calling thread: the hand-off would cost more. */
    private static final long PARALLEL_MIN_WORK = 1L << 15;

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
     * Output rows [rowStart, rowEnd) for every token. Reads each weight row once for all tokens while it is in
     * cache; dtypes with a faster multi-token kernel override this.
     */
    protected void matmulRows(float[] x, int xOffset, int xStride, float[] out, int outOffset, int outStride,
                              int tokens, int rowStart, int rowEnd) {
        for (int r = rowStart; r < rowEnd; r++) {
            for (int t = 0; t < tokens; t++) {
                out[outOffset + t * outStride + r] = dot(r, x, xOffset + t * xStride);
            }
        }
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
