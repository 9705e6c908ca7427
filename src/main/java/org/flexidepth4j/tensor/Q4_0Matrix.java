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
 * GGML Q4_0: blocks of 32 values stored as an fp16 scale d and 16 bytes of nibbles; byte i holds element i in its
 * low nibble and element i + 16 in its high nibble, value = (nibble - 8) * d. Bytes are widened to int lanes; with
 * 16 float lanes (AVX-512) a nibble becomes its float by a lookup in a 16-entry table ({@code selectFrom}, one
 * permute that reads only the index's low four bits) instead of masking, subtracting and converting, which narrower
 * vectors still do. {@link #int8Rows} multiplies the nibbles with x quantized to int8 instead
 * ({@link Q8Activations}), natively or in Java ({@link Kernels}): the native tier reads a copy of the matrix
 * interleaved by 8 rows ({@link Int8BlockMatrix}), the Java tier the stored layout.
 * <p>
 * The loops call nothing but the Vector API: see {@link Matrix} on why.
 */
public final class Q4_0Matrix extends Int8BlockMatrix {
    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 18;
    private static final int HALF = BLOCK / 2;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final boolean LOOKUP = L == 16;
    /** nibble - 8 for every nibble, as float bits: the lookup table. */
    private static final IntVector TABLE = LOOKUP
            ? FloatVector.fromArray(F, new float[] {-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7}, 0).reinterpretAsInts()
            : null;

    public Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(DType.Q4_0, data, rows, cols, Kernels.Native.Q4_0X8_TOKENS);
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = row * rowBytes();
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int b = 0;
        if (LOOKUP) {
            // Four blocks per iteration, their loads side by side, so more memory reads are in flight.
            for (; b + 3 < blocksPerRow; b += 4) {
                long blk = base + (long) b * BLOCK_BYTES;
                int xi = xOffset + b * BLOCK;
                IntVector q0 = (IntVector) ByteVector.fromMemorySegment(B, data, blk + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                IntVector q1 = (IntVector) ByteVector.fromMemorySegment(B, data, blk + BLOCK_BYTES + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                IntVector q2 = (IntVector) ByteVector.fromMemorySegment(B, data, blk + 2 * BLOCK_BYTES + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                IntVector q3 = (IntVector) ByteVector.fromMemorySegment(B, data, blk + 3 * BLOCK_BYTES + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                // selectFrom wraps each index to [0, 16): exactly the low nibble
                FloatVector p0 = q0.selectFrom(TABLE).reinterpretAsFloats().mul(FloatVector.fromArray(F, x, xi));
                FloatVector p1 = q1.selectFrom(TABLE).reinterpretAsFloats().mul(FloatVector.fromArray(F, x, xi + BLOCK));
                FloatVector p2 = q2.selectFrom(TABLE).reinterpretAsFloats().mul(FloatVector.fromArray(F, x, xi + 2 * BLOCK));
                FloatVector p3 = q3.selectFrom(TABLE).reinterpretAsFloats().mul(FloatVector.fromArray(F, x, xi + 3 * BLOCK));
                p0 = q0.lanewise(VectorOperators.ASHR, 4).selectFrom(TABLE).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + HALF), p0);
                p1 = q1.lanewise(VectorOperators.ASHR, 4).selectFrom(TABLE).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + BLOCK + HALF), p1);
                p2 = q2.lanewise(VectorOperators.ASHR, 4).selectFrom(TABLE).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + 2 * BLOCK + HALF), p2);
                p3 = q3.lanewise(VectorOperators.ASHR, 4).selectFrom(TABLE).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xi + 3 * BLOCK + HALF), p3);
                acc0 = p0.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(LE_SHORT, blk))), acc0);
                acc1 = p1.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(LE_SHORT, blk + BLOCK_BYTES))), acc1);
                acc2 = p2.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(LE_SHORT, blk + 2 * BLOCK_BYTES))), acc2);
                acc3 = p3.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(LE_SHORT, blk + 3 * BLOCK_BYTES))), acc3);
            }
        }
        for (; b < blocksPerRow; b++) {
            long blk = base + (long) b * BLOCK_BYTES;
            int xi = xOffset + b * BLOCK;
            FloatVector p = FloatVector.zero(F);
            for (int i = 0; i < HALF; i += L) {
                IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, data, blk + 2 + i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0);
                IntVector high = packed.lanewise(VectorOperators.ASHR, 4);
                FloatVector lowValues, highValues;
                if (LOOKUP) {
                    lowValues = packed.selectFrom(TABLE).reinterpretAsFloats();
                    highValues = high.selectFrom(TABLE).reinterpretAsFloats();
                } else {
                    lowValues = (FloatVector) packed.and(0xF).sub(8).convert(VectorOperators.I2F, 0);
                    highValues = (FloatVector) high.and(0xF).sub(8).convert(VectorOperators.I2F, 0);
                }
                p = lowValues.fma(FloatVector.fromArray(F, x, xi + i), p);
                p = highValues.fma(FloatVector.fromArray(F, x, xi + HALF + i), p);
            }
            acc0 = p.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(LE_SHORT, blk))), acc0);
        }
        return acc0.add(acc1).add(acc2.add(acc3)).reduceLanes(VectorOperators.ADD);
    }

    /** The Java integer dot of one row: nibbles widened to shorts (sign-extended bytes, so masked after the shift). */
    @Override
    float int8Dot(int row, Q8Activations x, int firstBlock) {
        long base = row * rowBytes();
        byte[] xq = x.quants;
        FloatVector acc = FloatVector.zero(F8);
        for (int b = 0; b < blocksPerRow; b++) {
            long blk = base + (long) b * BLOCK_BYTES;
            int xi = (firstBlock + b) * BLOCK;
            ShortVector packed = (ShortVector) ByteVector.fromMemorySegment(B16, data, blk + 2, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2S, S16, 0);
            ShortVector lo = packed.and((short) 0xF).sub((short) 8)
                    .mul((ShortVector) ByteVector.fromArray(B16, xq, xi).convertShape(VectorOperators.B2S, S16, 0));
            ShortVector hi = packed.lanewise(VectorOperators.ASHR, 4).and((short) 0xF).sub((short) 8)
                    .mul((ShortVector) ByteVector.fromArray(B16, xq, xi + HALF).convertShape(VectorOperators.B2S, S16, 0));
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
            for (int i = 0; i < HALF; i += L) {
                IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, data, blk + 2 + i, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0);
                IntVector high = packed.lanewise(VectorOperators.ASHR, 4);
                if (LOOKUP) {
                    packed.selectFrom(TABLE).reinterpretAsFloats().mul(d).intoArray(dst, o + i);
                    high.selectFrom(TABLE).reinterpretAsFloats().mul(d).intoArray(dst, o + HALF + i);
                } else {
                    ((FloatVector) packed.and(0xF).sub(8).convert(VectorOperators.I2F, 0)).mul(d).intoArray(dst, o + i);
                    ((FloatVector) high.and(0xF).sub(8).convert(VectorOperators.I2F, 0)).mul(d).intoArray(dst, o + HALF + i);
                }
            }
        }
    }
}
