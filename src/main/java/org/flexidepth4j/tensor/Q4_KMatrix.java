package org.flexidepth4j.tensor;

import static org.flexidepth4j.tensor.QuantLanes.B;
import static org.flexidepth4j.tensor.QuantLanes.F;
import static org.flexidepth4j.tensor.QuantLanes.F8;
import static org.flexidepth4j.tensor.QuantLanes.B16;
import static org.flexidepth4j.tensor.QuantLanes.I;
import static org.flexidepth4j.tensor.QuantLanes.I8;
import static org.flexidepth4j.tensor.QuantLanes.L;
import static org.flexidepth4j.tensor.QuantLanes.S16;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * GGML Q4_K super-blocks of 256 values (144 bytes): fp16 d, fp16 dmin, 12 bytes of 6-bit sub-block scales and
 * mins (8 sub-blocks of 32), 128 bytes of nibbles. Each 64-value chunk j uses 32 bytes: low nibbles are values
 * 64j..64j+31 (sub-block 2j), high nibbles 64j+32..64j+63 (sub-block 2j+1); value = d * scale * q - dmin * min,
 * as in llama.cpp's dequantize_row_q4_K. Against int8 activations ({@link #int8Rows}) a sub-block is one activation
 * block: d * scale * d(x) * sum(q x) - dmin * min * d(x) * sum(x).
 */
public final class Q4_KMatrix extends Int8BlockMatrix {
    static final int BLOCK = 256;
    static final int BLOCK_BYTES = 144;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Q4_KMatrix(MemorySegment data, int rows, int cols) {
        super(DType.Q4_K, data, rows, cols, Kernels.Native.Q4_K_ROWS, Kernels.Native.Q4_K_GEMM);
    }

    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * get_scale_min_k4 (Q4_K and Q5_K): the 6-bit scale (which = 0) or min (which = 1) of sub-block j, from the 12 packed bytes read
     * as one long (bytes 0-7) and one int (8-11): two loads per super-block instead of two or three per value.
     */
    static int scaleMin(long low, int high, int j, int which) {
        if (j < 4) return (int) (low >>> (8 * (j + 4 * which))) & 63;
        int packed = (high >>> (8 * (j - 4))) & 0xFF;
        int top = (int) (low >>> (8 * (j - 4 + 4 * which))) & 0xFF;
        return (which == 0 ? packed & 0xF : packed >> 4) | ((top >> 6) << 4);
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = row * rowBytes();
        // two accumulators (low and high nibbles' sub-blocks): half the loop-carried FMA chain
        FloatVector acc = FloatVector.zero(F), accHigh = acc;
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(LE_SHORT, blk));
            float dmin = Float.float16ToFloat(data.get(LE_SHORT, blk + 2));
            long low = data.get(LE_LONG, blk + 4);
            int high = data.get(LE_INT, blk + 12);
            for (int j = 0; j < 4; j++) {
                long q = blk + 16 + 32L * j;
                int xi = xOffset + b * BLOCK + 64 * j;
                FloatVector lo = FloatVector.zero(F), hi = FloatVector.zero(F), xLo = FloatVector.zero(F), xHi = FloatVector.zero(F);
                for (int l = 0; l < 32; l += L) {
                    // widened to int lanes first: x86 shifts ints natively, not bytes
                    IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, data, q + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                    FloatVector x0 = FloatVector.fromArray(F, x, xi + l), x1 = FloatVector.fromArray(F, x, xi + 32 + l);
                    lo = ((FloatVector) packed.and(0xF).convert(VectorOperators.I2F, 0)).fma(x0, lo);
                    hi = ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4).and(0xF).convert(VectorOperators.I2F, 0)).fma(x1, hi);
                    xLo = xLo.add(x0);
                    xHi = xHi.add(x1);
                }
                acc = lo.fma(FloatVector.broadcast(F, d * scaleMin(low, high, 2 * j, 0)), acc);
                acc = xLo.fma(FloatVector.broadcast(F, -dmin * scaleMin(low, high, 2 * j, 1)), acc);
                accHigh = hi.fma(FloatVector.broadcast(F, d * scaleMin(low, high, 2 * j + 1, 0)), accHigh);
                accHigh = xHi.fma(FloatVector.broadcast(F, -dmin * scaleMin(low, high, 2 * j + 1, 1)), accHigh);
            }
        }
        return acc.add(accHigh).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Nibbles widened to shorts (sign-extended bytes, so masked after the shift), each sub-block's products summed
     * exactly in 8 int lanes and FMA'd in float with its scale; the mins are one scalar product per sub-block.
     */
    @Override
    float int8Dot(int row, Q8Activations x, int firstBlock) {
        long base = row * rowBytes();
        byte[] xq = x.quants;
        FloatVector acc = FloatVector.zero(F8);
        float mins = 0;
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(LE_SHORT, blk));
            float dmin = Float.float16ToFloat(data.get(LE_SHORT, blk + 2));
            long low = data.get(LE_LONG, blk + 4);
            int high = data.get(LE_INT, blk + 12);
            for (int j = 0; j < 4; j++) {
                long q = blk + 16 + 32L * j;
                int block = firstBlock + 8 * b + 2 * j, xi = block * Q8Activations.BLOCK;
                ShortVector p0 = (ShortVector) ByteVector.fromMemorySegment(B16, data, q, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2S, S16, 0);
                ShortVector p1 = (ShortVector) ByteVector.fromMemorySegment(B16, data, q + 16, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2S, S16, 0);
                ShortVector lo = p0.and((short) 0xF).mul((ShortVector) ByteVector.fromArray(B16, xq, xi).convertShape(VectorOperators.B2S, S16, 0))
                        .add(p1.and((short) 0xF).mul((ShortVector) ByteVector.fromArray(B16, xq, xi + 16).convertShape(VectorOperators.B2S, S16, 0)));
                ShortVector hi = p0.lanewise(VectorOperators.ASHR, 4).and((short) 0xF).mul((ShortVector) ByteVector.fromArray(B16, xq, xi + 32).convertShape(VectorOperators.B2S, S16, 0))
                        .add(p1.lanewise(VectorOperators.ASHR, 4).and((short) 0xF).mul((ShortVector) ByteVector.fromArray(B16, xq, xi + 48).convertShape(VectorOperators.B2S, S16, 0)));
                IntVector loSums = ((IntVector) lo.convertShape(VectorOperators.S2I, I8, 0)).add((IntVector) lo.convertShape(VectorOperators.S2I, I8, 1));
                IntVector hiSums = ((IntVector) hi.convertShape(VectorOperators.S2I, I8, 0)).add((IntVector) hi.convertShape(VectorOperators.S2I, I8, 1));
                acc = ((FloatVector) loSums.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F8, d * scaleMin(low, high, 2 * j, 0) * x.scales[block]), acc);
                acc = ((FloatVector) hiSums.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F8, d * scaleMin(low, high, 2 * j + 1, 0) * x.scales[block + 1]), acc);
                mins += dmin * scaleMin(low, high, 2 * j, 1) * x.sums[block] + dmin * scaleMin(low, high, 2 * j + 1, 1) * x.sums[block + 1];
            }
        }
        return acc.reduceLanes(VectorOperators.ADD) - mins;
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
                float d1 = d * scaleMin(low, high, 2 * j, 0), m1 = dmin * scaleMin(low, high, 2 * j, 1);
                float d2 = d * scaleMin(low, high, 2 * j + 1, 0), m2 = dmin * scaleMin(low, high, 2 * j + 1, 1);
                int o = dstOffset + b * BLOCK + 64 * j;
                for (int l = 0; l < 32; l += L) {
                    IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, data, blk + 16 + 32L * j + l, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.B2I, I, 0);
                    ((FloatVector) packed.and(0xF).convert(VectorOperators.I2F, 0)).mul(d1).sub(m1).intoArray(dst, o + l);
                    ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4).and(0xF).convert(VectorOperators.I2F, 0)).mul(d2).sub(m2).intoArray(dst, o + 32 + l);
                }
            }
        }
    }
}
