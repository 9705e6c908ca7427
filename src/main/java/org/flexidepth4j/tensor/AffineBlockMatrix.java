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
 * GGML's 32-value blocks of 4- or 5-bit quants with an offset, value = d * q + m (llama.cpp's dequantize_row_q4_1,
 * q5_0, q5_1): Q4_1 is fp16 d, fp16 m, 16 bytes of nibbles; Q5_0 is d, 4 bytes qh, nibbles, with m = -16 d; Q5_1 is d,
 * m, qh, nibbles. Byte i holds element i in its low nibble and element i + 16 in its high nibble; bit i of qh (a
 * little-endian uint32) is element i's fifth bit. One class for the three: they differ only in where the fields sit.
 * The dot is d * sum(q x) + m * sum(x) per block. The loops call nothing but the Vector API: see {@link Matrix}.
 */
public final class AffineBlockMatrix extends BlockMatrix {
    private static final int BLOCK = 32;
    private static final int HALF = BLOCK / 2;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** 0, 1, 2, ...: lane i shifts qh right by i to bring element i's fifth bit down. */
    private static final IntVector LANE = IntVector.zero(I).addIndex(1);

    private final int blockBytes;
    private final boolean hasMin;
    /** Offset of qh in a block; -1 without fifth bits (Q4_1). */
    private final int highBitsAt;
    private final int quantsAt;

    AffineBlockMatrix(DType dtype, MemorySegment data, int rows, int cols) {
        super(dtype, data, rows, cols);
        this.blockBytes = dtype.blockBytes;
        this.hasMin = dtype != DType.Q5_0;
        this.highBitsAt = dtype == DType.Q4_1 ? -1 : hasMin ? 4 : 2;
        this.quantsAt = highBitsAt < 0 ? 4 : highBitsAt + 4;
        if (dtype != DType.Q4_1 && dtype != DType.Q5_0 && dtype != DType.Q5_1) throw new IllegalArgumentException("not an affine block dtype: " + dtype);
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = row * rowBytes();
        FloatVector acc = FloatVector.zero(F), accSums = acc;
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * blockBytes;
            int xi = xOffset + b * BLOCK;
            float d = Float.float16ToFloat(data.get(LE_SHORT, blk));
            float m = hasMin ? Float.float16ToFloat(data.get(LE_SHORT, blk + 2)) : -16 * d;
            int qh = highBitsAt < 0 ? 0 : data.get(LE_INT, blk + highBitsAt);
            FloatVector p = FloatVector.zero(F), s = p;
            for (int i = 0; i < HALF; i += L) {
                IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, data, blk + quantsAt + i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0);
                IntVector low = packed.and(0xF).or(IntVector.broadcast(I, qh >>> i).lanewise(VectorOperators.LSHR, LANE).lanewise(VectorOperators.LSHL, 4).and(0x10));
                IntVector high = packed.lanewise(VectorOperators.LSHR, 4).and(0xF)
                        .or(IntVector.broadcast(I, qh >>> (HALF + i)).lanewise(VectorOperators.LSHR, LANE).lanewise(VectorOperators.LSHL, 4).and(0x10));
                FloatVector x0 = FloatVector.fromArray(F, x, xi + i), x1 = FloatVector.fromArray(F, x, xi + HALF + i);
                p = ((FloatVector) low.convert(VectorOperators.I2F, 0)).fma(x0, p);
                p = ((FloatVector) high.convert(VectorOperators.I2F, 0)).fma(x1, p);
                s = s.add(x0).add(x1);
            }
            acc = p.fma(FloatVector.broadcast(F, d), acc);
            accSums = s.fma(FloatVector.broadcast(F, m), accSums);
        }
        return acc.add(accSums).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        long base = row * rowBytes();
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * blockBytes;
            int o = dstOffset + b * BLOCK;
            float dScalar = Float.float16ToFloat(data.get(LE_SHORT, blk));
            FloatVector d = FloatVector.broadcast(F, dScalar);
            FloatVector m = FloatVector.broadcast(F, hasMin ? Float.float16ToFloat(data.get(LE_SHORT, blk + 2)) : -16 * dScalar);
            int qh = highBitsAt < 0 ? 0 : data.get(LE_INT, blk + highBitsAt);
            for (int i = 0; i < HALF; i += L) {
                IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, data, blk + quantsAt + i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0);
                IntVector low = packed.and(0xF).or(IntVector.broadcast(I, qh >>> i).lanewise(VectorOperators.LSHR, LANE).lanewise(VectorOperators.LSHL, 4).and(0x10));
                IntVector high = packed.lanewise(VectorOperators.LSHR, 4).and(0xF)
                        .or(IntVector.broadcast(I, qh >>> (HALF + i)).lanewise(VectorOperators.LSHR, LANE).lanewise(VectorOperators.LSHL, 4).and(0x10));
                ((FloatVector) low.convert(VectorOperators.I2F, 0)).fma(d, m).intoArray(dst, o + i);
                ((FloatVector) high.convert(VectorOperators.I2F, 0)).fma(d, m).intoArray(dst, o + HALF + i);
            }
        }
    }
}
