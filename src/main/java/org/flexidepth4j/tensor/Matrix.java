package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A 2-D weight matrix [rows, cols] kept in its stored dtype (no up-front conversion to float). Every consumer
 * (inference, training, evaluation) multiplies through {@link #matmul}, so each dtype has exactly one kernel: its
 * {@link #dot} for one token and its {@link #readRow} for the multi-token tile kernel of {@link #matmulRows}.
 * <p>
 * Kernel loops call nothing but the Vector API (no helper of our own that takes or returns a vector), because a
 * helper C2 leaves out of line once its inlining budget is spent boxes every vector it passes (docs/KERNELS.md).
 */
public abstract class Matrix {
    /** Below this many multiply-adds (~30 us on one core) a matmul runs on the calling thread: the hand-off would cost more. */
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
        if (int8Activations(tokens)) {
            Q8Activations qx = Q8Activations.quantize(x, xOffset, xStride, cols, tokens);
            forRows(tokens, (start, end) -> int8Rows(qx, 0, tokens, start, end, out, outOffset, outStride, false));
            return;
        }
        forRows(tokens, (start, end) -> matmulRows(x, xOffset, xStride, out, outOffset, outStride, tokens, start, end));
    }

    /**
     * Two matrices of the same width over one input x [tokens, cols] (k and v, gate and up): outA = A x and
     * outB = B x, each row's sums those of {@link #matmul}. Where both take int8 activations x is quantized once and
     * their rows share one parallel region (one hand-off instead of two); otherwise two {@link #matmul} calls.
     */
    public static void matmul(float[] x, int tokens, Matrix a, float[] outA, Matrix b, float[] outB) {
        if (a.cols != b.cols) throw new IllegalArgumentException("matrices of " + a.cols + " and " + b.cols + " columns cannot share an input");
        if (!a.int8Activations(tokens) || !b.int8Activations(tokens)) {
            a.matmul(x, outA, tokens);
            b.matmul(x, outB, tokens);
            return;
        }
        Q8Activations qx = Q8Activations.quantize(x, 0, a.cols, a.cols, tokens);
        int block = RowBlockDot.ROWS, blocksA = (a.rows + block - 1) / block, blocksB = (b.rows + block - 1) / block;
        forBlocks(blocksA + blocksB, a.rows + b.rows, a.cols, tokens, (start, end) -> {
            if (start < blocksA) a.int8Rows(qx, 0, tokens, start * block, Math.min(a.rows, Math.min(end, blocksA) * block), outA, 0, a.rows, false);
            if (end > blocksA) b.int8Rows(qx, 0, tokens, Math.max(0, start - blocksA) * block, Math.min(b.rows, (end - blocksA) * block), outB, 0, b.rows, false);
        });
    }

    /** Whether a matmul of {@code tokens} tokens multiplies 8-bit activations (see {@link #matmul}). */
    private boolean int8Activations(int tokens) {
        // int8 activations in decode on either tier, in prefill only on the native one (the Java prefill is the float Gemm)
        return Kernels.activations() == Kernels.Activations.Q8 && takesInt8Activations() && (tokens < GEMM_MIN_TOKENS || Kernels.nativeTier());
    }

    /**
     * As {@link #matmul}, always through {@link Gemm} whatever the token count: each output is one fma chain, so the
     * bits are the same interpreted or compiled ({@link #dot}'s lane sum is not), which training needs.
     */
    public final void matmulOrderFixed(float[] x, float[] out, int tokens) {
        forRows(tokens, (start, end) -> matmulPacked(x, 0, cols, out, 0, rows, tokens, start, end));
    }

    /** Splits the output rows over the pool when the work pays for the hand-off. */
    private void forRows(int tokens, Parallel.RangeBody task) {
        // Split at whole blocks of RowBlockDot.ROWS rows, so which kernel sums a row (a block's dotRows or the tail's
        // dot) depends on neither the thread count nor the token count: a sequence decoded in a batch then gets its
        // single-token sums even where the interpreted Vector API reduces dotRows and dot differently.
        int block = RowBlockDot.ROWS;
        forBlocks((rows + block - 1) / block, rows, cols, tokens, (start, end) -> task.run(start * block, Math.min(rows, end * block)));
    }

    /**
     * Blocks [0, blocks) of {@link RowBlockDot#ROWS} rows each (their rows {@code rows} in all, of {@code cols}
     * columns, against {@code tokens} tokens) over the pool: on the calling thread below {@link #PARALLEL_MIN_WORK}
     * multiply-adds, else in chunks of at least that much work.
     */
    private static void forBlocks(int blocks, int rows, int cols, int tokens, Parallel.RangeBody task) {
        if ((long) rows * cols * tokens < PARALLEL_MIN_WORK) {
            task.run(0, blocks);
            return;
        }
        int minBlocks = (int) Math.max(1, PARALLEL_MIN_WORK / ((long) cols * tokens) / RowBlockDot.ROWS);
        Parallel.pool().forRange(blocks, minBlocks, task);
    }

    /**
     * Output rows [rowStart, rowEnd) for every token. Fewer than {@value #GEMM_MIN_TOKENS} tokens: a {@link #dot} per
     * row and token (blocks of rows through {@link RowBlockDot} where the dtype has it), the rows staying in L1
     * between tokens (decode is bound by reading the weights once). More:
     * {@link Gemm} over a packed, transposed float panel of {@link Gemm#NR} dequantized rows against all tokens, so
     * each dtype needs only its dot and readRow, and the dequantization and packing of a row is paid once for all
     * tokens.
     */
    protected void matmulRows(float[] x, int xOffset, int xStride, float[] out, int outOffset, int outStride,
                              int tokens, int rowStart, int rowEnd) {
        if (nativeMatmulRows(x, xOffset, xStride, out, outOffset, outStride, tokens, rowStart, rowEnd, false)) return;
        if (tokens < GEMM_MIN_TOKENS) {
            if (tokens > 1 && this instanceof TokenBlockDot block) {
                TokenBlockDot.rows(this, block, x, xOffset, xStride, tokens, out, outOffset, outStride, rowStart, rowEnd, false);
                return;
            }
            int r = rowStart;
            if (this instanceof RowBlockDot block) {
                for (; r + RowBlockDot.ROWS <= rowEnd; r += RowBlockDot.ROWS) {
                    for (int t = 0; t < tokens; t++) block.dotRows(r, x, xOffset + t * xStride, out, outOffset + t * outStride + r, false);
                }
            }
            for (; r < rowEnd; r++) {
                for (int t = 0; t < tokens; t++) out[outOffset + t * outStride + r] = dot(r, x, xOffset + t * xStride);
            }
            return;
        }
        matmulPacked(x, xOffset, xStride, out, outOffset, outStride, tokens, rowStart, rowEnd);
    }

    /**
     * Output rows [rowStart, rowEnd) for every token by this dtype's native float-activation kernel (BF16), added to
     * out when {@code add}, any token count; false, with nothing done, where the native tier is off or the dtype has none.
     */
    boolean nativeMatmulRows(float[] x, int xOffset, int xStride, float[] out, int outOffset, int outStride, int tokens,
                             int rowStart, int rowEnd, boolean add) {
        return false;
    }

    /** Output rows [rowStart, rowEnd) through {@link Gemm}, panel by panel of {@link Gemm#NR} dequantized rows. */
    private void matmulPacked(float[] x, int xOffset, int xStride, float[] out, int outOffset, int outStride,
                              int tokens, int rowStart, int rowEnd) {
        int nr = Gemm.NR;
        // Padded tile rows: with a power-of-two row length the transpose's column reads would all map to one L1 set.
        int stride = cols + TILE_PAD;
        float[] tile = new float[nr * stride], panel = new float[nr * cols];
        for (int r = rowStart; r < rowEnd; r += nr) {
            int n = Math.min(nr, rowEnd - r);
            for (int i = 0; i < n; i++) readRow(r + i, tile, i * stride);
            for (int j = 0; j < cols; j++) {
                for (int i = 0; i < n; i++) panel[j * nr + i] = tile[i * stride + j];
            }
            Gemm.multiply(tokens, n, cols, x, xOffset, xStride, panel, 0, nr, out, outOffset + r, outStride, false);
        }
    }

    /** From this many tokens on, packing rows for {@link Gemm} (about 1.2 ns per weight, once) beats a dot per token. */
    public static final int GEMM_MIN_TOKENS = 32;

    /** Floats of padding per tile row of {@link #matmulRows}: one cache line. */
    private static final int TILE_PAD = 16;

    /**
     * Backward of {@link #matmul} for the input: dx[t, j] += sum_r dy[t, r] * W[r, j], dy is [tokens, rows], dx is
     * [tokens, cols]. Parallel over tokens; each thread dequantizes blocks of {@value #BACKWARD_ROWS} rows into its
     * own buffer, which is {@link Gemm}'s b operand as it is (no transpose needed). Each dx element is one fma chain
     * in row order, so the result does not depend on the thread count.
     */
    public void matmulTransposed(float[] dy, float[] dx, int tokens) {
        long perToken = (long) rows * cols;
        int minTokens = perToken * tokens < PARALLEL_MIN_WORK ? tokens : (int) Math.max(Gemm.MR, PARALLEL_MIN_WORK / perToken);
        Parallel.pool().forRange(tokens, minTokens, (start, end) -> {
            float[] block = new float[BACKWARD_ROWS * cols];
            for (int r0 = 0; r0 < rows; r0 += BACKWARD_ROWS) {
                int depth = Math.min(BACKWARD_ROWS, rows - r0);
                for (int k = 0; k < depth; k++) readRow(r0 + k, block, k * cols);
                Gemm.multiply(end - start, cols, depth, dy, start * rows + r0, rows, block, 0, cols, dx, start * cols, cols, true);
            }
        });
    }

    /** Rows of W per dequantized block of {@link #matmulTransposed}: 128 x 2048 floats is 1 MiB at 1B scale. */
    private static final int BACKWARD_ROWS = 128;

    /**
     * Whether this matrix has an integer dot against {@link Q8Activations} ({@link #int8Rows}); decode then
     * quantizes its input once per matmul when {@link Kernels#activations()} is Q8.
     */
    boolean takesInt8Activations() {
        return false;
    }

    /**
     * out[outOffset + t * outStride + r] = (or += when {@code add}) the dot of row r with token t's quantized
     * activations, whose column 0 is block {@code firstBlock + t * x.blocksPerToken} of x, for r in [rowStart, rowEnd)
     * and t in [0, tokens); native or Java as {@link Kernels} says. Fewer than {@value #GEMM_MIN_TOKENS} tokens get
     * each token's single-token sums; more, on the native tier, an int8 matrix multiply (the same block products in
     * another order).
     */
    void int8Rows(Q8Activations x, int firstBlock, int tokens, int rowStart, int rowEnd, float[] out, int outOffset, int outStride, boolean add) {
        throw new UnsupportedOperationException(dtype() + " has no integer dot");
    }

    /**
     * Makes now what the chosen kernels read besides the stored layout (the native tier's interleaved Q4_0 and Q8_0), so that
     * loading a model pays for it rather than its first token; a no-op for most dtypes.
     */
    public void prepareKernels() {
    }

    /** A matrix of the first {@code n} rows (used for row slices of fused tensors). */
    public abstract Matrix rowSlice(int first, int n);
}
