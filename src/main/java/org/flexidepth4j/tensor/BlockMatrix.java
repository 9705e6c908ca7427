package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Storage shared by the GGML block-quantized matrices: each row is {@code cols / blockSize} whole blocks of
 * {@code blockBytes} bytes, back to back. Subclasses supply only the block arithmetic (dot, readRow).
 */
abstract class BlockMatrix extends Matrix {
    protected final MemorySegment data;
    protected final int blocksPerRow;
    private final DType dtype;

    protected BlockMatrix(DType dtype, MemorySegment data, int rows, int cols) {
        super(rows, cols);
        if (cols % dtype.blockSize != 0) throw new IllegalArgumentException(dtype + " row length " + cols + " is not a multiple of " + dtype.blockSize);
        this.dtype = dtype;
        this.data = data;
        this.blocksPerRow = cols / dtype.blockSize;
    }

    @Override
    public final DType dtype() {
        return dtype;
    }

    @Override
    public final MemorySegment segment() {
        return data;
    }

    protected final long rowBytes() {
        return (long) blocksPerRow * dtype.blockBytes;
    }

    @Override
    public final Matrix rowSlice(int first, int n) {
        return Matrices.of(dtype, data.asSlice(first * rowBytes(), n * rowBytes()), n, cols);
    }
}
