package org.flexidepth4j.tensor;

import static org.flexidepth4j.tensor.QuantLanes.B;
import static org.flexidepth4j.tensor.QuantLanes.B16;
import static org.flexidepth4j.tensor.QuantLanes.F;
import static org.flexidepth4j.tensor.QuantLanes.F8;
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
 * GGML Q8_0: each row is blocks of 32 values stored as an fp16 scale d and 32 int8 quants, value = q * d. Two
 * decode kernels: {@link #dot} widens the quants to float and FMAs them with float x; {@link #int8Rows} multiplies
 * them with x quantized to int8 ({@link Q8Activations}), natively or in Java ({@link Kernels}): the native tier reads a
 * copy of the matrix interleaved by 8 rows ({@link Int8BlockMatrix}), the Java tier the stored layout. The loops call
 * nothing but the Vector API: see {@link Matrix} on why.
 */
public final class Q8_0Matrix extends Int8BlockMatrix {
    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 34;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(DType.Q8_0, data, rows, cols, Kernels.Native.Q8_0X8_TOKENS);
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = row * rowBytes();
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        int b = 0;
        FloatVector acc2 = acc0, acc3 = acc0;
        for (; b + 3 < blocksPerRow; b += 4) {
            long blk = base + (long) b * BLOCK_BYTES;
            int xi = xOffset + b * BLOCK;
            FloatVector p0 = FloatVector.zero(F), p1 = p0, p2 = p0, p3 = p0;
            for (int i = 0; i < BLOCK; i += L) {
                p0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, blk + 2 + i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xi + i), p0);
                p1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, blk + BLOCK_BYTES + 2 + i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xi + BLOCK + i), p1);
                p2 = ((FloatVector) ByteVector.fromMemorySegment(B, data, blk + 2 * BLOCK_BYTES + 2 + i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xi + 2 * BLOCK + i), p2);
                p3 = ((FloatVector) ByteVector.fromMemorySegment(B, data, blk + 3 * BLOCK_BYTES + 2 + i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xi + 3 * BLOCK + i), p3);
            }
            acc0 = p0.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(LE_SHORT, blk))), acc0);
            acc1 = p1.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(LE_SHORT, blk + BLOCK_BYTES))), acc1);
            acc2 = p2.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(LE_SHORT, blk + 2 * BLOCK_BYTES))), acc2);
            acc3 = p3.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(LE_SHORT, blk + 3 * BLOCK_BYTES))), acc3);
        }
        acc0 = acc0.add(acc2);
        acc1 = acc1.add(acc3);
        for (; b < blocksPerRow; b++) {
            long blk = base + (long) b * BLOCK_BYTES;
            int xi = xOffset + b * BLOCK;
            FloatVector p = FloatVector.zero(F);
            for (int i = 0; i < BLOCK; i += L) {
                p = ((FloatVector) ByteVector.fromMemorySegment(B, data, blk + 2 + i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xi + i), p);
            }
            acc0 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(LE_SHORT, blk))), acc0);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    @Override
    float int8Dot(int row, Q8Activations x, int firstBlock) {
        long base = row * rowBytes();
        byte[] xq = x.quants;
        FloatVector acc = FloatVector.zero(F8);
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * BLOCK_BYTES;
            int xi = (firstBlock + b) * BLOCK;
            ShortVector lo = ((ShortVector) ByteVector.fromMemorySegment(B16, data, blk + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2S, S16, 0))
                    .mul((ShortVector) ByteVector.fromArray(B16, xq, xi).convertShape(VectorOperators.B2S, S16, 0));
            ShortVector hi = ((ShortVector) ByteVector.fromMemorySegment(B16, data, blk + 18, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2S, S16, 0))
                    .mul((ShortVector) ByteVector.fromArray(B16, xq, xi + 16).convertShape(VectorOperators.B2S, S16, 0));
            ShortVector pairs = lo.add(hi);
            IntVector sums = ((IntVector) pairs.convertShape(VectorOperators.S2I, I8, 0)).add((IntVector) pairs.convertShape(VectorOperators.S2I, I8, 1));
            acc = ((FloatVector) sums.convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(F8, Float.float16ToFloat(data.get(LE_SHORT, blk)) * x.scales[firstBlock + b]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        long base = row * rowBytes();
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * BLOCK_BYTES;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(data.get(LE_SHORT, blk)));
            int o = dstOffset + b * BLOCK;
            for (int i = 0; i < BLOCK; i += L) {
                ((FloatVector) ByteVector.fromMemorySegment(B, data, blk + 2 + i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0).convert(VectorOperators.I2F, 0)).mul(d).intoArray(dst, o + i);
            }
        }
    }
}
