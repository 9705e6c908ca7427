package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * A block-quantized matrix with an integer dot against {@link Q8Activations} (Q8_0, Q4_0, Q4_K, Q6_K): the native kernel of its
 * dtype when {@link Kernels} runs the native tier, else its Java {@link #int8Dot} row by row.
 */
abstract class Int8BlockMatrix extends BlockMatrix {
    /** The native library's row kernel for this dtype (null when the library did not load). */
    private final MethodHandle nativeRows;

    protected Int8BlockMatrix(DType dtype, MemorySegment data, int rows, int cols, MethodHandle nativeRows) {
        super(dtype, data, rows, cols);
        this.nativeRows = nativeRows;
    }

    /** The Java integer dot of one row: sum over 32-value blocks of their scales times the block's exact int sum. */
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
}
