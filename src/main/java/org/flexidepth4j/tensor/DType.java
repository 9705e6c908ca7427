package org.flexidepth4j.tensor;

/** Storage types of tensors as they appear in weight files. Block types store {@code blockSize} values in {@code blockBytes}. */
public enum DType {
    F32(1, 4), F16(1, 2), BF16(1, 2), F64(1, 8), I8(1, 1), U8(1, 1), I16(1, 2), I32(1, 4), I64(1, 8), BOOL(1, 1),
    Q8_0(32, 34), Q4_0(32, 18), Q4_K(256, 144), Q6_K(256, 210);

    public final int blockSize;
    public final int blockBytes;

    DType(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Bytes needed for {@code elements} values; -1 when the count is not a whole number of blocks. */
    public long byteSize(long elements) {
        if (elements % blockSize != 0) return -1;
        return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    }
}
