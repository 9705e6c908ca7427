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
 * GGML Q5_K super-blocks of 256 values (176 bytes): fp16 d, fp16 dmin, 12 bytes of 6-bit sub-block scales and mins
 * packed as Q4_K's, 32 bytes qh, 128 bytes of nibbles laid out as Q4_K's. Bits 2j and 2j + 1 of qh byte l are the
 * fifth bits of values 64j + l and 64j + 32 + l; value = d * scale * q - dmin * min, as in llama.cpp's
 * dequantize_row_q5_K. The loops call nothing but the Vector API: see {@link Matrix}.
 */
public final class Q5_KMatrix extends BlockMatrix {
    private static final int BLOCK = 256;
    private static final int BLOCK_BYTES = 176;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    Q5_KMatrix(MemorySegment data, int rows, int cols) {
        super(DType.Q5_K, data, rows, cols);
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = row * rowBytes();
        FloatVector acc = FloatVector.zero(F), accHigh = acc;
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(LE_SHORT, blk));
            float dmin = Float.float16ToFloat(data.get(LE_SHORT, blk + 2));
            long low = data.get(LE_LONG, blk + 4);
            int high = data.get(LE_INT, blk + 12);
            for (int j = 0; j < 4; j++) {
                long q = blk + 48 + 32L * j;
                int xi = xOffset + b * BLOCK + 64 * j;
                FloatVector lo = FloatVector.zero(F), hi = lo, xLo = lo, xHi = lo;
                for (int l = 0; l < 32; l += L) {
                    IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, data, q + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                    IntVector fifth = (IntVector) ByteVector.fromMemorySegment(B, data, blk + 16 + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                    FloatVector x0 = FloatVector.fromArray(F, x, xi + l), x1 = FloatVector.fromArray(F, x, xi + 32 + l);
                    lo = ((FloatVector) packed.and(0xF).or(fifth.lanewise(VectorOperators.LSHR, 2 * j).and(1).lanewise(VectorOperators.LSHL, 4))
                            .convert(VectorOperators.I2F, 0)).fma(x0, lo);
                    hi = ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4).and(0xF).or(fifth.lanewise(VectorOperators.LSHR, 2 * j + 1).and(1).lanewise(VectorOperators.LSHL, 4))
                            .convert(VectorOperators.I2F, 0)).fma(x1, hi);
                    xLo = xLo.add(x0);
                    xHi = xHi.add(x1);
                }
                acc = lo.fma(FloatVector.broadcast(F, d * Q4_KMatrix.scaleMin(low, high, 2 * j, 0)), acc);
                acc = xLo.fma(FloatVector.broadcast(F, -dmin * Q4_KMatrix.scaleMin(low, high, 2 * j, 1)), acc);
                accHigh = hi.fma(FloatVector.broadcast(F, d * Q4_KMatrix.scaleMin(low, high, 2 * j + 1, 0)), accHigh);
                accHigh = xHi.fma(FloatVector.broadcast(F, -dmin * Q4_KMatrix.scaleMin(low, high, 2 * j + 1, 1)), accHigh);
            }
        }
        return acc.add(accHigh).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        long base = row * rowBytes();
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(LE_SHORT, blk));
            float dmin = Float.float16ToFloat(data.get(LE_SHORT, blk + 2));
            long low = data.get(LE_LONG, blk + 4);
            int high = data.get(LE_INT, blk + 12);
            for (int j = 0; j < 4; j++) {
                FloatVector d1 = FloatVector.broadcast(F, d * Q4_KMatrix.scaleMin(low, high, 2 * j, 0));
                FloatVector m1 = FloatVector.broadcast(F, -dmin * Q4_KMatrix.scaleMin(low, high, 2 * j, 1));
                FloatVector d2 = FloatVector.broadcast(F, d * Q4_KMatrix.scaleMin(low, high, 2 * j + 1, 0));
                FloatVector m2 = FloatVector.broadcast(F, -dmin * Q4_KMatrix.scaleMin(low, high, 2 * j + 1, 1));
                int o = dstOffset + b * BLOCK + 64 * j;
                for (int l = 0; l < 32; l += L) {
                    IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, data, blk + 48 + 32L * j + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                    IntVector fifth = (IntVector) ByteVector.fromMemorySegment(B, data, blk + 16 + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                    ((FloatVector) packed.and(0xF).or(fifth.lanewise(VectorOperators.LSHR, 2 * j).and(1).lanewise(VectorOperators.LSHL, 4))
                            .convert(VectorOperators.I2F, 0)).fma(d1, m1).intoArray(dst, o + l);
                    ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4).and(0xF).or(fifth.lanewise(VectorOperators.LSHR, 2 * j + 1).and(1).lanewise(VectorOperators.LSHL, 4))
                            .convert(VectorOperators.I2F, 0)).fma(d2, m2).intoArray(dst, o + 32 + l);
                }
            }
        }
    }
}
