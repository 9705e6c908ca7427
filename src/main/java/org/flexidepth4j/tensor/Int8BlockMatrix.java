package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * A block-quantized matrix with an integer dot against {@link Q8Activations} (Q8_0, Q4_0, Q4_K, Q6_K): the native kernels
 * of its dtype (a row kernel for decode, an int8 matrix multiply for prefill) when {@link Kernels} runs the native
 * tier, else its Java {@link #int8Dot} row by row.
 */
abstract class Int8BlockMatrix extends BlockMatrix {
    /**
     * The native library's kernels for this dtype (null when the library did not load): one row against one token
     * (decode), rows against a few tokens with every sum the row kernel's bit for bit (batched decode; null where the
     * dtype has none), and the tiled int8 matrix multiply (prefill).
     */
    private final MethodHandle nativeRows, nativeTokens, nativeGemm;

    protected Int8BlockMatrix(DType dtype, MemorySegment data, int rows, int cols, MethodHandle nativeRows, MethodHandle nativeGemm,
                              MethodHandle nativeTokens) {
        super(dtype, data, rows, cols);
        this.nativeRows = nativeRows;
        this.nativeGemm = nativeGemm;
        this.nativeTokens = nativeTokens;
    }

    /** The Java integer dot of one row: sum over 32-value blocks of their scales times the block's exact int sum. */
    abstract float int8Dot(int row, Q8Activations x, int firstBlock);

    @Override
    final boolean takesInt8Activations() {
        return true;
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

    /** {@link #int8Rows} on the native tier: the dtype's kernels on the stored layout. */
    void nativeInt8Rows(Q8Activations x, int firstBlock, int tokens, int rowStart, int rowEnd, float[] out, int outOffset, int outStride, boolean add) {
        MemorySegment rowsFrom = data.asSlice(rowStart * rowBytes());
        if (tokens >= GEMM_MIN_TOKENS) {
            Kernels.Native.tokens(nativeGemm, Kernels.Native.BEST_LEVEL, rowsFrom, rowBytes(), rowEnd - rowStart, blocksPerRow, x, firstBlock,
                    tokens, out, outOffset + rowStart, outStride, add);
            return;
        }
        if (tokens > 1 && nativeTokens != null) {
            Kernels.Native.tokens(nativeTokens, Kernels.Native.BEST_LEVEL, rowsFrom, rowBytes(), rowEnd - rowStart, blocksPerRow, x, firstBlock,
                    tokens, out, outOffset + rowStart, outStride, add);
            return;
        }
        for (int t = 0; t < tokens; t++) {
            Kernels.Native.rows(nativeRows, Kernels.Native.BEST_LEVEL, rowsFrom, rowBytes(), rowEnd - rowStart, blocksPerRow, x,
                    firstBlock + t * x.blocksPerToken, out, outOffset + t * outStride + rowStart, add);
        }
    }
}
