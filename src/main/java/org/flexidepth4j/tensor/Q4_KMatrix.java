package org.flexidepth4j.tensor;

import static org.flexidepth4j.tensor.QuantLanes.F;
import static org.flexidepth4j.tensor.QuantLanes.L;
import static org.flexidepth4j.tensor.QuantLanes.floats;
import static org.flexidepth4j.tensor.QuantLanes.ints;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * GGML Q4_K super-blocks of 256 values (144 bytes): fp16 d, fp16 dmin, 12 bytes of 6-bit sub-block scales and
 * mins (8 sub-blocks of 32), 128 bytes of nibbles. Each 64-value chunk j uses 32 bytes: low nibbles are values
 * 64j..64j+31 (sub-block 2j), high nibbles 64j+32..64j+63 (sub-block 2j+1); value = d * scale * q - dmin * min,
 * as in llama.cpp's dequantize_row_q4_K.
 */
public final class Q4_KMatrix extends BlockMatrix {
    static final int BLOCK = 256;
    static final int BLOCK_BYTES = 144;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Q4_KMatrix(MemorySegment data, int rows, int cols) {
        super(DType.Q4_K, data, rows, cols);
    }

    /** get_scale_min_k4: the 6-bit scale (which = 0) or min (which = 1) of sub-block j from the 12 packed bytes at s. */
    private int scaleMin(long s, int j, int which) {
        if (j < 4) return data.get(ValueLayout.JAVA_BYTE, s + j + 4L * which) & 63;
        int packed = data.get(ValueLayout.JAVA_BYTE, s + j + 4) & 0xFF;
        int high = (data.get(ValueLayout.JAVA_BYTE, s + j - 4 + 4L * which) & 0xFF) >> 6;
        return (which == 0 ? packed & 0xF : packed >> 4) | (high << 4);
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = row * rowBytes();
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(LE_SHORT, blk));
            float dmin = Float.float16ToFloat(data.get(LE_SHORT, blk + 2));
            for (int j = 0; j < 4; j++) {
                long q = blk + 16 + 32L * j;
                int xi = xOffset + b * BLOCK + 64 * j;
                FloatVector lo = FloatVector.zero(F), hi = FloatVector.zero(F), xLo = FloatVector.zero(F), xHi = FloatVector.zero(F);
                for (int l = 0; l < 32; l += L) {
                    // widened to int lanes first: AVX2 shifts ints natively, not bytes
                    IntVector packed = ints(data, q + l);
                    FloatVector x0 = FloatVector.fromArray(F, x, xi + l), x1 = FloatVector.fromArray(F, x, xi + 32 + l);
                    lo = floats(packed.and(0xF)).fma(x0, lo);
                    hi = floats(packed.lanewise(VectorOperators.LSHR, 4).and(0xF)).fma(x1, hi);
                    xLo = xLo.add(x0);
                    xHi = xHi.add(x1);
                }
                long s = blk + 4;
                acc = lo.fma(FloatVector.broadcast(F, d * scaleMin(s, 2 * j, 0)), acc);
                acc = xLo.fma(FloatVector.broadcast(F, -dmin * scaleMin(s, 2 * j, 1)), acc);
                acc = hi.fma(FloatVector.broadcast(F, d * scaleMin(s, 2 * j + 1, 0)), acc);
                acc = xHi.fma(FloatVector.broadcast(F, -dmin * scaleMin(s, 2 * j + 1, 1)), acc);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        long base = row * rowBytes();
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(LE_SHORT, blk));
            float dmin = Float.float16ToFloat(data.get(LE_SHORT, blk + 2));
            for (int j = 0; j < 4; j++) {
                float d1 = d * scaleMin(blk + 4, 2 * j, 0), m1 = dmin * scaleMin(blk + 4, 2 * j, 1);
                float d2 = d * scaleMin(blk + 4, 2 * j + 1, 0), m2 = dmin * scaleMin(blk + 4, 2 * j + 1, 1);
                int o = dstOffset + b * BLOCK + 64 * j;
                for (int l = 0; l < 32; l++) {
                    int q = data.get(ValueLayout.JAVA_BYTE, blk + 16 + 32L * j + l) & 0xFF;
                    dst[o + l] = d1 * (q & 0xF) - m1;
                    dst[o + 32 + l] = d2 * (q >> 4) - m2;
                }
            }
        }
    }
}
