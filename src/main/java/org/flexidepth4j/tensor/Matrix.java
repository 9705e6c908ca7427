package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
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
     * reading the weights once). Several tokens: {@value #MR}-token x {@code NR}-row blocks of {@link #microKernel}
     * over a packed, transposed float panel of {@code NR} dequantized rows, so each dtype needs only its dot and
     * readRow, and the dequantization cost is shared by all tokens. Every output is one fma chain in column order,
     * whatever the block it falls in, so results do not depend on the token count or the thread split.
     */
    protected void matmulRows(float[] x, int xOffset, int xStride, float[] out, int outOffset, int outStride,
                              int tokens, int rowStart, int rowEnd) {
        if (tokens == 1) {
            for (int r = rowStart; r < rowEnd; r++) out[outOffset + r] = dot(r, x, xOffset);
            return;
        }
        float[] tile = new float[NR * cols], panel = new float[NR * cols], partial = new float[MR * NR];
        // Tokens go in chunks whose activations stay in L2 while every row block of the range passes over them;
        // the weights are re-read once per chunk, which costs far less than streaming all activations per row block.
        int chunk = Math.max(MR, Math.min(tokens, X_CHUNK_FLOATS / cols));
        for (int t0 = 0; t0 < tokens; t0 += chunk) {
            int t1 = Math.min(tokens, t0 + chunk);
            for (int r = rowStart; r < rowEnd; r += NR) {
                int n = Math.min(NR, rowEnd - r);
                for (int i = 0; i < n; i++) readRow(r + i, tile, i * cols);
                for (int j = 0; j < cols; j++) {
                    for (int i = 0; i < n; i++) panel[j * NR + i] = tile[i * cols + j];
                    for (int i = n; i < NR; i++) panel[j * NR + i] = 0f;
                }
                for (int t = t0; t < t1; t += MR) {
                    int m = Math.min(MR, t1 - t);
                    int o = outOffset + t * outStride + r;
                    if (n == NR) {
                        microKernel(m, x, xOffset + t * xStride, xStride, panel, 0, NR, cols, out, o, outStride, false);
                    } else {
                        microKernel(m, x, xOffset + t * xStride, xStride, panel, 0, NR, cols, partial, 0, NR, false);
                        for (int i = 0; i < m; i++) System.arraycopy(partial, i * NR, out, o + i * outStride, n);
                    }
                }
            }
        }
    }

    /** Activation floats per token chunk of the multi-token kernel: 256 KiB, half of a typical L2. */
    private static final int X_CHUNK_FLOATS = 64 * 1024;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Tokens x columns of one register block: 6 x 2 vectors = 12 accumulators, 2 loads + 6 broadcasts per k. */
    static final int MR = 6;
    static final int NR = 2 * F.length();

    /**
     * c[i, 0..NR) = (accumulate ? c[i, 0..NR) : 0) + sum over k < depth of a[i, k] * b[k, 0..NR) for the m <= MR
     * rows i, with a[i, k] = a[aOff + i * lda + k], b[k, .] = b[bOff + k * ldb + .], c[i, .] = c[cOff + i * ldc + .].
     * One fma per term in k order, so a row's result is the same in a full block and in the tail.
     */
    private static void microKernel(int m, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, int depth,
                                    float[] c, int cOff, int ldc, boolean accumulate) {
        if (m < MR) {
            for (int i = 0; i < m; i++) microKernel1(a, aOff + i * lda, b, bOff, ldb, depth, c, cOff + i * ldc, accumulate);
            return;
        }
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

    /** {@link #microKernel} for one row of a. */
    private static void microKernel1(float[] a, int aOff, float[] b, int bOff, int ldb, int depth, float[] c, int cOff,
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

    /**
     * Backward of {@link #matmul} for the input: dx[t, j] += sum_r dy[t, r] * W[r, j], dy is [tokens, rows], dx is
     * [tokens, cols]. Parallel over tokens; each thread dequantizes blocks of {@value #BACKWARD_ROWS} rows into its
     * own buffer and runs {@link #microKernel} over them with W's rows as the b operand (no transpose needed). Each
     * dx element is one fma chain in row order, so the result does not depend on the thread count.
     */
    public void matmulTransposed(float[] dy, float[] dx, int tokens) {
        long perToken = (long) rows * cols;
        int minTokens = perToken * tokens < PARALLEL_MIN_WORK ? tokens : (int) Math.max(MR, PARALLEL_MIN_WORK / perToken);
        int vectorCols = cols - cols % NR;
        Parallel.pool().forRange(tokens, minTokens, (start, end) -> {
            float[] block = new float[BACKWARD_ROWS * cols];
            for (int r0 = 0; r0 < rows; r0 += BACKWARD_ROWS) {
                int depth = Math.min(BACKWARD_ROWS, rows - r0);
                for (int k = 0; k < depth; k++) readRow(r0 + k, block, k * cols);
                for (int t = start; t < end; t += MR) {
                    int m = Math.min(MR, end - t);
                    for (int j = 0; j < vectorCols; j += NR) {
                        microKernel(m, dy, t * rows + r0, rows, block, j, cols, depth, dx, t * cols + j, cols, true);
                    }
                    for (int i = t; i < t + m; i++) {
                        for (int j = vectorCols; j < cols; j++) {
                            float s = dx[i * cols + j];
                            for (int k = 0; k < depth; k++) s = Math.fma(dy[i * rows + r0 + k], block[k * cols + j], s);
                            dx[i * cols + j] = s;
                        }
                    }
                }
            }
        });
    }

    /** Rows of W per dequantized block of {@link #matmulTransposed}: 128 x 2048 floats is 1 MiB at 1B scale. */
    private static final int BACKWARD_ROWS = 128;

    /** A matrix of the first {@code n} rows (used for row slices of fused tensors). */
    public abstract Matrix rowSlice(int first, int n);
}
