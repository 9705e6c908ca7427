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
 * GGML Q6_K super-blocks of 256 values (210 bytes): 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits), 16
 * int8 sub-block scales (one per 16 values), fp16 d. Each 128-value half uses 64 ql, 32 qh and 8 scales; for
 * l in [0, 32) it packs values l, l+32, l+64, l+96 as in llama.cpp's dequantize_row_q6_K; value = d * scale * (q - 32).
 * Against int8 activations ({@link #int8Rows}) each of those four 32-value quarters is one activation block.
 */
public final class Q6_KMatrix extends Int8BlockMatrix {
    static final int BLOCK = 256;
    static final int BLOCK_BYTES = 210;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Q6_KMatrix(MemorySegment data, int rows, int cols) {
        super(DType.Q6_K, data, rows, cols, Kernels.Native.Q6_K_ROWS, Kernels.Native.Q6_K_GEMM);
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = row * rowBytes();
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(LE_SHORT, blk + 208));
            for (int n = 0; n < 2; n++) {
                long ql = blk + 64L * n, qh = blk + 128 + 32L * n, sc = blk + 192 + 8L * n;
                int xi = xOffset + b * BLOCK + 128 * n;
                for (int l = 0; l < 32; l += L) {
                    // bytes widened to int lanes first: the bit fields are cut with int shifts (x86 has no byte shift)
                    IntVector a = (IntVector) ByteVector.fromMemorySegment(B, data, ql + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                    IntVector c = (IntVector) ByteVector.fromMemorySegment(B, data, ql + 32 + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                    IntVector h = (IntVector) ByteVector.fromMemorySegment(B, data, qh + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                    FloatVector q1 = (FloatVector) a.and(0xF).or(h.lanewise(VectorOperators.LSHL, 4).and(0x30)).sub(32).convert(VectorOperators.I2F, 0);
                    FloatVector q2 = (FloatVector) c.and(0xF).or(h.lanewise(VectorOperators.LSHL, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0);
                    FloatVector q3 = (FloatVector) a.lanewise(VectorOperators.LSHR, 4).and(0xF).or(h.and(0x30)).sub(32).convert(VectorOperators.I2F, 0);
                    FloatVector q4 = (FloatVector) c.lanewise(VectorOperators.LSHR, 4).and(0xF).or(h.lanewise(VectorOperators.LSHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0);
                    int is = l / 16;
                    acc = q1.mul(FloatVector.fromArray(F, x, xi + l)).fma(FloatVector.broadcast(F, d * data.get(ValueLayout.JAVA_BYTE, sc + is)), acc);
                    acc = q2.mul(FloatVector.fromArray(F, x, xi + 32 + l)).fma(FloatVector.broadcast(F, d * data.get(ValueLayout.JAVA_BYTE, sc + is + 2)), acc);
                    acc = q3.mul(FloatVector.fromArray(F, x, xi + 64 + l)).fma(FloatVector.broadcast(F, d * data.get(ValueLayout.JAVA_BYTE, sc + is + 4)), acc);
                    acc = q4.mul(FloatVector.fromArray(F, x, xi + 96 + l)).fma(FloatVector.broadcast(F, d * data.get(ValueLayout.JAVA_BYTE, sc + is + 6)), acc);
                }
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * 16 values at a time widened to shorts: quarter k's low bits are ql (its second 32 bytes for odd k) shifted by 4
     * for k >= 2, its high bits qh shifted by 2k; each 16 values' products summed exactly in 8 int lanes, times their
     * int8 scale, the quarter's two halves added as ints and FMA'd in float with d * d(x).
     */
    @Override
    float int8Dot(int row, Q8Activations x, int firstBlock) {
        long base = row * rowBytes();
        byte[] xq = x.quants;
        FloatVector acc = FloatVector.zero(F8);
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(LE_SHORT, blk + 208));
            for (int n = 0; n < 2; n++) {
                long ql = blk + 64L * n, qh = blk + 128 + 32L * n, sc = blk + 192 + 8L * n;
                ShortVector high0 = (ShortVector) ByteVector.fromMemorySegment(B16, data, qh, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2S, S16, 0);
                ShortVector high1 = (ShortVector) ByteVector.fromMemorySegment(B16, data, qh + 16, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2S, S16, 0);
                for (int k = 0; k < 4; k++) {
                    int block = firstBlock + 8 * b + 4 * n + k, xi = block * Q8Activations.BLOCK;
                    long lowAt = ql + 32 * (k & 1);
                    ShortVector q0 = ((ShortVector) ByteVector.fromMemorySegment(B16, data, lowAt, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2S, S16, 0))
                            .lanewise(VectorOperators.ASHR, 4 * (k >> 1)).and((short) 0xF)
                            .or(high0.lanewise(VectorOperators.ASHR, 2 * k).and((short) 3).lanewise(VectorOperators.LSHL, 4)).sub((short) 32);
                    ShortVector q1 = ((ShortVector) ByteVector.fromMemorySegment(B16, data, lowAt + 16, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2S, S16, 0))
                            .lanewise(VectorOperators.ASHR, 4 * (k >> 1)).and((short) 0xF)
                            .or(high1.lanewise(VectorOperators.ASHR, 2 * k).and((short) 3).lanewise(VectorOperators.LSHL, 4)).sub((short) 32);
                    ShortVector p0 = q0.mul((ShortVector) ByteVector.fromArray(B16, xq, xi).convertShape(VectorOperators.B2S, S16, 0));
                    ShortVector p1 = q1.mul((ShortVector) ByteVector.fromArray(B16, xq, xi + 16).convertShape(VectorOperators.B2S, S16, 0));
                    IntVector sums = ((IntVector) p0.convertShape(VectorOperators.S2I, I8, 0)).add((IntVector) p0.convertShape(VectorOperators.S2I, I8, 1))
                            .mul(data.get(ValueLayout.JAVA_BYTE, sc + 2 * k))
                            .add(((IntVector) p1.convertShape(VectorOperators.S2I, I8, 0)).add((IntVector) p1.convertShape(VectorOperators.S2I, I8, 1))
                                    .mul(data.get(ValueLayout.JAVA_BYTE, sc + 2 * k + 1)));
                    acc = ((FloatVector) sums.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F8, d * x.scales[block]), acc);
                }
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        long base = row * rowBytes();
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(LE_SHORT, blk + 208));
            for (int n = 0; n < 2; n++) {
                long ql = blk + 64L * n, qh = blk + 128 + 32L * n, sc = blk + 192 + 8L * n;
                int o = dstOffset + b * BLOCK + 128 * n;
                for (int l = 0; l < 32; l += L) {
                    IntVector a = (IntVector) ByteVector.fromMemorySegment(B, data, ql + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                    IntVector c = (IntVector) ByteVector.fromMemorySegment(B, data, ql + 32 + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                    IntVector h = (IntVector) ByteVector.fromMemorySegment(B, data, qh + l, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                    int is = l / 16;
                    ((FloatVector) a.and(0xF).or(h.lanewise(VectorOperators.LSHL, 4).and(0x30)).sub(32).convert(VectorOperators.I2F, 0))
                            .mul(d * data.get(ValueLayout.JAVA_BYTE, sc + is)).intoArray(dst, o + l);
                    ((FloatVector) c.and(0xF).or(h.lanewise(VectorOperators.LSHL, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0))
                            .mul(d * data.get(ValueLayout.JAVA_BYTE, sc + is + 2)).intoArray(dst, o + 32 + l);
                    ((FloatVector) a.lanewise(VectorOperators.LSHR, 4).and(0xF).or(h.and(0x30)).sub(32).convert(VectorOperators.I2F, 0))
                            .mul(d * data.get(ValueLayout.JAVA_BYTE, sc + is + 4)).intoArray(dst, o + 64 + l);
                    ((FloatVector) c.lanewise(VectorOperators.LSHR, 4).and(0xF).or(h.lanewise(VectorOperators.LSHR, 2).and(0x30)).sub(32).convert(VectorOperators.I2F, 0))
                            .mul(d * data.get(ValueLayout.JAVA_BYTE, sc + is + 6)).intoArray(dst, o + 96 + l);
                }
            }
        }
    }
}
