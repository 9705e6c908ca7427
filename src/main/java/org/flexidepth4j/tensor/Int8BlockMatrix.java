package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * A block-quantized matrix with an integer dot against {@link Q8Activations} (Q8_0, Q4_0): the native kernel of its
 * dtype when {@link Kernels} runs the native tier, else its Java {@link #int8Dot} row by row.
 */
abstract class Int8BlockMatrix extends BlockMatrix {
    /** The native library's row and batched-decode kernels for this dtype (null when the library did not load). */
    private final MethodHandle nativeRows, nativeTokens;

    protected Int8BlockMatrix(DType dtype, MemorySegment data, int rows, int cols, MethodHandle nativeRows, MethodHandle nativeTokens) {
        super(dtype, data, rows, cols);
        this.nativeRows = nativeRows;
        this.nativeTokens = nativeTokens;
    }

    /** The Java integer dot of one row: sum over blocks of d(w) * d(x) * (the block's exact int sum). */
    abstract float int8Dot(int row, Q8Activations x, int firstBlock);

    @Override
    final boolean takesInt8Activations() {
        return true;
    }

    @Override
    final void int8Rows(Q8Activations x, int firstBlock, int rowStart, int rowEnd, float[] out, int outOffset, boolean add) {
        if (Kernels.nativeTier()) {
            Kernels.Native.rows(nativeRows, Kernels.Native.BEST_LEVEL, data.asSlice(rowStart * rowBytes()), rowBytes(),
                    rowEnd - rowStart, blocksPerRow, x, firstBlock, out, outOffset + rowStart, add);
            return;
        }
        for (int r = rowStart; r < rowEnd; r++) RowBlockDot.store(out, outOffset + r, add, int8Dot(r, x, firstBlock));
    }

    /** Natively, each row read once for several tokens; in Java, a dot per token while the row is in L1. */
    @Override
    final void int8Tokens(Q8Activations x, int firstBlock, int tokens, int rowStart, int rowEnd, float[] out, int outOffset, int outStride, boolean add) {
        if (Kernels.nativeTier()) {
            Kernels.Native.tokens(nativeTokens, Kernels.Native.BEST_LEVEL, data.asSlice(rowStart * rowBytes()), rowBytes(),
                    rowEnd - rowStart, blocksPerRow, x, firstBlock, tokens, out, outOffset + rowStart, outStride, add);
            return;
        }
        for (int r = rowStart; r < rowEnd; r++) {
            for (int t = 0; t < tokens; t++) {
                RowBlockDot.store(out, outOffset + t * outStride + r, add, int8Dot(r, x, firstBlock + t * x.blocksPerToken));
            }
        }
    }
}
