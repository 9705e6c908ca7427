package org.flexidepth4j.tensor;

/**
 * Storage types of tensors as they appear in weight files. Block types store {@code blockSize} values in
 * {@code blockBytes}. The ggml types carry their GGUF type id (-1 for safetensors-only types), so a GGUF reader can
 * size and name every tensor, including those no kernel here computes with ({@link Matrices#supports}).
 */
public enum DType {
    F32(1, 4, 0), F16(1, 2, 1), BF16(1, 2, 30), F64(1, 8, 28), I8(1, 1, 24), U8(1, 1, -1), I16(1, 2, 25), I32(1, 4, 26),
    I64(1, 8, 27), BOOL(1, 1, -1),
    Q8_0(32, 34, 8), Q4_0(32, 18, 2), Q4_1(32, 20, 3), Q5_0(32, 22, 6), Q5_1(32, 24, 7), Q8_1(32, 36, 9),
    Q2_K(256, 84, 10), Q3_K(256, 110, 11), Q4_K(256, 144, 12), Q5_K(256, 176, 13), Q6_K(256, 210, 14), Q8_K(256, 292, 15),
    IQ2_XXS(256, 66, 16), IQ2_XS(256, 74, 17), IQ3_XXS(256, 98, 18), IQ1_S(256, 50, 19), IQ4_NL(32, 18, 20),
    IQ3_S(256, 110, 21), IQ2_S(256, 82, 22), IQ4_XS(256, 136, 23), IQ1_M(256, 56, 29), TQ1_0(256, 54, 34),
    TQ2_0(256, 66, 35), MXFP4(32, 17, 39);

    public final int blockSize;
    public final int blockBytes;
    /** The ggml type id in GGUF files, -1 when ggml has none. */
    public final int ggmlId;

    DType(int blockSize, int blockBytes, int ggmlId) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.ggmlId = ggmlId;
    }

    /** The dtype of a GGUF type id, null for an id ggml does not define. */
    public static DType ofGgml(int id) {
        for (DType t : values()) if (t.ggmlId == id && id >= 0) return t;
        return null;
    }

    /** Bytes needed for {@code elements} values; -1 when the count is not a whole number of blocks. */
    public long byteSize(long elements) {
        if (elements % blockSize != 0) return -1;
        return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    }

    /** Whether values are stored in blocks with shared scales (the ggml quantized types). */
    public boolean isQuantized() {
        return blockSize > 1;
    }
}
