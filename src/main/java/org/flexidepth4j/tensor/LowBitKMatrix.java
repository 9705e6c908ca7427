package org.flexidepth4j.tensor;

import static org.flexidepth4j.tensor.QuantLanes.B;
import static org.flexidepth4j.tensor.QuantLanes.F;
import static org.flexidepth4j.tensor.QuantLanes.I;
import static org.flexidepth4j.tensor.QuantLanes.L;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * GGML's 2- and 3-bit K-quants, super-blocks of 256 values in 16 sub-blocks of 16 (llama.cpp's dequantize_row_q2_K,
 * q3_K). Both keep 2 bits per value in 64 bytes qs: for each 128-value half n, byte l of its 32 holds values
 * 128n + 32j + l at bits 2j, 2j + 1 (j = 0..3); sub-block k = 8n + 2j + l / 16.
 * <ul>
 * <li>Q2_K (84 bytes): 16 scale bytes (low nibble scale, high nibble min), qs, fp16 d, fp16 dmin; value =
 * d * scale * q - dmin * min.
 * <li>Q3_K (110 bytes): 32 bytes hmask (bit 4n + j of byte l: the third bit of the value above), qs, 12 bytes of
 * 6-bit scales (low nibbles in bytes 0-7, two high bits in bytes 8-11), fp16 d; value = d * (scale - 32) * (q - 4)
 * with the third bit counted as 4.
 * </ul>
 * Both are computed as a * q + b per sub-block (Q3_K: a = d * (scale - 32), b = -4a), so one loop serves them.
 * The loops call nothing but the Vector API: see {@link Matrix}.
 */
public final class LowBitKMatrix extends BlockMatrix {
    private static final int BLOCK = 256;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final boolean q3;
    private final int blockBytes;
    private final int quantsAt;

    LowBitKMatrix(DType dtype, MemorySegment data, int rows, int cols) {
        super(dtype, data, rows, cols);
        if (dtype != DType.Q2_K && dtype != DType.Q3_K) throw new IllegalArgumentException("not a 2- or 3-bit K-quant: " + dtype);
        this.q3 = dtype == DType.Q3_K;
        this.blockBytes = dtype.blockBytes;
        this.quantsAt = q3 ? 32 : 16;
    }

    /** Sub-block k's factor a of value = a * q + b. */
    private float factor(long blk, int k) {
        if (!q3) return Float.float16ToFloat(data.get(LE_SHORT, blk + 80)) * (data.get(ValueLayout.JAVA_BYTE, blk + k) & 0xF);
        long scales = blk + 96;
        int low = k < 8 ? data.get(ValueLayout.JAVA_BYTE, scales + k) & 0xF : (data.get(ValueLayout.JAVA_BYTE, scales + k - 8) >> 4) & 0xF;
        int high = (data.get(ValueLayout.JAVA_BYTE, scales + 8 + k % 4) >> (2 * (k / 4))) & 3;
        return Float.float16ToFloat(data.get(LE_SHORT, blk + 108)) * ((low | high << 4) - 32);
    }

    /** Sub-block k's offset b of value = a * q + b, given its factor a. */
    private float offset(long blk, int k, float factor) {
        if (q3) return -4 * factor;
        return -Float.float16ToFloat(data.get(LE_SHORT, blk + 82)) * ((data.get(ValueLayout.JAVA_BYTE, blk + k) >> 4) & 0xF);
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = row * rowBytes();
        FloatVector acc = FloatVector.zero(F), accSums = acc;
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * blockBytes;
            for (int n = 0; n < 2; n++) {
                long q = blk + quantsAt + 32L * n;
                int xi = xOffset + b * BLOCK + 128 * n;
                for (int l = 0; l < 32; l += L) {
                    IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, data, q + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                    // Q2_K has no hmask: its first 32 bytes (scales, qs) are read and the bits dropped
                    IntVector hmask = ((IntVector) ByteVector.fromMemorySegment(B, data, blk + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0))
                            .and(q3 ? 0xFF : 0);
                    for (int j = 0; j < 4; j++) {
                        int k = 8 * n + 2 * j + l / 16;
                        float a = factor(blk, k);
                        FloatVector xs = FloatVector.fromArray(F, x, xi + 32 * j + l);
                        FloatVector values = (FloatVector) packed.lanewise(VectorOperators.LSHR, 2 * j).and(3)
                                .or(hmask.lanewise(VectorOperators.LSHR, 4 * n + j).and(1).lanewise(VectorOperators.LSHL, 2)).convert(VectorOperators.I2F, 0);
                        acc = values.mul(xs).fma(FloatVector.broadcast(F, a), acc);
                        accSums = xs.fma(FloatVector.broadcast(F, offset(blk, k, a)), accSums);
                    }
                }
            }
        }
        return acc.add(accSums).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        long base = row * rowBytes();
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * blockBytes;
            for (int n = 0; n < 2; n++) {
                long q = blk + quantsAt + 32L * n;
                int o = dstOffset + b * BLOCK + 128 * n;
                for (int l = 0; l < 32; l += L) {
                    IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, data, q + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                    IntVector hmask = ((IntVector) ByteVector.fromMemorySegment(B, data, blk + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0))
                            .and(q3 ? 0xFF : 0);
                    for (int j = 0; j < 4; j++) {
                        int k = 8 * n + 2 * j + l / 16;
                        float a = factor(blk, k);
                        ((FloatVector) packed.lanewise(VectorOperators.LSHR, 2 * j).and(3)
                                .or(hmask.lanewise(VectorOperators.LSHR, 4 * n + j).and(1).lanewise(VectorOperators.LSHL, 2)).convert(VectorOperators.I2F, 0))
                                .fma(FloatVector.broadcast(F, a), FloatVector.broadcast(F, offset(blk, k, a))).intoArray(dst, o + 32 * j + l);
                    }
                }
            }
        }
    }
}
