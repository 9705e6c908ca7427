package org.flexidepth4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * A block-quantized matrix with an integer dot against {@link Q8Activations} (Q8_0, Q4_0, Q4_K, Q6_K): on the native
 * tier ({@link Kernels}) either one kernel over a copy interleaved by {@value #GROUP_ROWS} rows (Q8_0, Q4_0: fd_x8_pack in
 * {@code src/main/c}, made once, off-heap, in parallel) or the dtype's kernels on the stored layout (a row kernel for
 * decode, an int8 matrix multiply for prefill); on the Java tier its {@link #int8Dot} row by row on the stored layout.
 */
abstract class Int8BlockMatrix extends BlockMatrix {
    /** Rows per group of the interleaved layout. */
    static final int GROUP_ROWS = 8;
    /** Groups per task when the interleaved copy is made over the pool. */
    private static final int PACK_MIN_GROUPS = 16;

    /**
     * The native library's kernels for this dtype on the stored layout (null when the library did not load or the dtype
     * is interleaved): one row against one token (decode, batched decode) and the tiled int8 matrix multiply (prefill).
     */
    private final MethodHandle nativeRows, nativeGemm;
    /** The one native kernel over the interleaved copy, for every token count (null for dtypes read in their stored layout). */
    private final MethodHandle nativeInterleaved;
    /** The interleaved copy: made on first use (or by {@link #prepareKernels}), null until then. */
    private volatile MemorySegment interleaved;

    /** A dtype the native tier reads in its stored layout. */
    protected Int8BlockMatrix(DType dtype, MemorySegment data, int rows, int cols, MethodHandle nativeRows, MethodHandle nativeGemm) {
        super(dtype, data, rows, cols);
        this.nativeRows = nativeRows;
        this.nativeGemm = nativeGemm;
        this.nativeInterleaved = null;
    }

    /** A dtype of blocks of an fp16 scale and quant bytes that the native tier reads interleaved by {@value #GROUP_ROWS} rows. */
    protected Int8BlockMatrix(DType dtype, MemorySegment data, int rows, int cols, MethodHandle nativeInterleaved) {
        super(dtype, data, rows, cols);
        this.nativeRows = this.nativeGemm = null;
        this.nativeInterleaved = nativeInterleaved;
    }

    /** The Java integer dot of one row: sum over 32-value blocks of their scales times the block's exact int sum. */
    abstract float int8Dot(int row, Q8Activations x, int firstBlock);

    @Override
    final boolean takesInt8Activations() {
        return true;
    }

    /** Makes the native tier's interleaved copy now when this dtype has one and that tier multiplies with int8 activations. */
    @Override
    public final void prepareKernels() {
        if (nativeInterleaved != null && Kernels.nativeTier() && Kernels.activations() == Kernels.Activations.Q8) interleaved();
    }

    /** The interleaved copy: (rows + 7) / 8 groups of blocksPerRow group blocks, the last group's missing rows zeros. */
    final MemorySegment interleaved() {
        MemorySegment copy = interleaved;
        if (copy != null) return copy;
        synchronized (this) {
            if (interleaved == null) {
                int groups = (rows + GROUP_ROWS - 1) / GROUP_ROWS;
                int quantBytes = dtype().blockBytes - 2;
                MemorySegment packed = Arena.ofAuto().allocate((long) groups * blocksPerRow * GROUP_ROWS * dtype().blockBytes, 64);
                Parallel.pool().forRange(groups, PACK_MIN_GROUPS, (start, end) -> {
                    Kernels.Native.packX8(data, rowBytes(), rows, blocksPerRow, quantBytes, start, end, packed);
                    // the native tier reads only the copy: the file's pages leave this process (a later reader faults them back in)
                    long first = (long) start * GROUP_ROWS * rowBytes(), last = Math.min(rows, (long) end * GROUP_ROWS) * rowBytes();
                    if (data.isMapped()) data.asSlice(first, last - first).unload();
                });
                interleaved = packed;
            }
            return interleaved;
        }
    }

    @Override
    final void int8Rows(Q8Activations x, int firstBlock, int tokens, int rowStart, int rowEnd, float[] out, int outOffset, int outStride, boolean add) {
        if (Kernels.nativeTier()) {
            nativeInt8Rows(x, firstBlock, tokens, rowStart, rowEnd, out, outOffset, outStride, add);
            return;
        }
        for (int r = rowStart; r < rowEnd; r++) {
            for (int t = 0; t < tokens; t++) {
                RowBlockDot.store(out, outOffset + t * outStride + r, add, int8Dot(r, x, firstBlock + t * x.blocksPerToken));
            }
        }
    }

    /**
     * {@link #int8Rows} on the native tier: the interleaved kernel for every token count (decode, batched decode and
     * prefill give each token the same bits), else the dtype's kernels on the stored layout.
     */
    private void nativeInt8Rows(Q8Activations x, int firstBlock, int tokens, int rowStart, int rowEnd, float[] out, int outOffset, int outStride,
                                boolean add) {
        if (nativeInterleaved != null) {
            Kernels.Native.x8(nativeInterleaved, Kernels.Native.BEST_LEVEL, interleaved(), rowStart, rowEnd, blocksPerRow, x, firstBlock, tokens,
                    out, outOffset, outStride, add);
            return;
        }
        MemorySegment rowsFrom = data.asSlice(rowStart * rowBytes());
        if (tokens >= GEMM_MIN_TOKENS) {
            Kernels.Native.tokens(nativeGemm, Kernels.Native.BEST_LEVEL, rowsFrom, rowBytes(), rowEnd - rowStart, blocksPerRow, x, firstBlock,
                    tokens, out, outOffset + rowStart, outStride, add);
            return;
        }
        for (int t = 0; t < tokens; t++) {
            Kernels.Native.rows(nativeRows, Kernels.Native.BEST_LEVEL, rowsFrom, rowBytes(), rowEnd - rowStart, blocksPerRow, x,
                    firstBlock + t * x.blocksPerToken, out, outOffset + t * outStride + rowStart, add);
        }
    }
}
