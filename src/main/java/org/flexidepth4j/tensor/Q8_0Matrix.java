package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * GGML Q8_0: each row is blocks of 32 values stored as an fp16 scale d and 32 int8 quants, value = q * d. The dot
 * widens 8 quants at a time to float and FMAs them with x (measured faster here than quantizing x to int8: the
 * Vector API has no int8 multiply-add instruction, so the integer path needs more widening steps).
 */
public final class Q8_0Matrix extends BlockMatrix {
    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 34;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_64;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(DType.Q8_0, data, rows, cols);
    }

    private static FloatVector quants(MemorySegment data, long offset) {
        return (FloatVector) ByteVector.fromMemorySegment(B, data, offset, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2F, F, 0);
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = row * rowBytes();
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocksPerRow; b++) {
            long q = base + (long) b * BLOCK_BYTES + 2;
            int xi = xOffset + b * BLOCK;
            // Two short FMA chains per block keep the loop-carried dependency to one FMA per block.
            FloatVector p0 = quants(data, q).mul(FloatVector.fromArray(F, x, xi));
            FloatVector p1 = quants(data, q + 8).mul(FloatVector.fromArray(F, x, xi + 8));
            p0 = quants(data, q + 16).fma(FloatVector.fromArray(F, x, xi + 16), p0);
            p1 = quants(data, q + 24).fma(FloatVector.fromArray(F, x, xi + 24), p1);
            float d = Float.float16ToFloat(data.get(LE_SHORT, q - 2));
            acc = p0.add(p1).fma(FloatVector.broadcast(F, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        long base = row * rowBytes();
        for (int b = 0; b < blocksPerRow; b++) {
            long q = base + (long) b * BLOCK_BYTES + 2;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(data.get(LE_SHORT, q - 2)));
            int o = dstOffset + b * BLOCK;
            for (int i = 0; i < BLOCK; i += 8) quants(data, q + i).mul(d).intoArray(dst, o + i);
        }
    }
}
