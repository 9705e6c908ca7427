package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * GGML Q4_0: blocks of 32 values stored as an fp16 scale d and 16 bytes of nibbles; byte i holds element i in its
 * low nibble and element i + 16 in its high nibble, value = (nibble - 8) * d. Bytes are widened to int lanes
 * for the nibble arithmetic (25% faster here than shifting byte lanes), then to float.
 */
public final class Q4_0Matrix extends BlockMatrix {
    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 18;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_64;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(DType.Q4_0, data, rows, cols);
    }

    /** 8 packed bytes widened to int lanes: nibble arithmetic on ints is native AVX2, byte shifts are not. */
    private static IntVector packed(MemorySegment data, long offset) {
        return (IntVector) ByteVector.fromMemorySegment(B, data, offset, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
    }

    private static FloatVector low(IntVector packed) {
        return (FloatVector) packed.and(0xF).sub(8).convertShape(VectorOperators.I2F, F, 0);
    }

    private static FloatVector high(IntVector packed) {
        return (FloatVector) packed.lanewise(VectorOperators.LSHR, 4).and(0xF).sub(8).convertShape(VectorOperators.I2F, F, 0);
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = row * rowBytes();
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocksPerRow; b++) {
            long q = base + (long) b * BLOCK_BYTES + 2;
            int xi = xOffset + b * BLOCK;
            IntVector first = packed(data, q);
            IntVector second = packed(data, q + 8);
            FloatVector p0 = low(first).mul(FloatVector.fromArray(F, x, xi));
            FloatVector p1 = low(second).mul(FloatVector.fromArray(F, x, xi + 8));
            p0 = high(first).fma(FloatVector.fromArray(F, x, xi + 16), p0);
            p1 = high(second).fma(FloatVector.fromArray(F, x, xi + 24), p1);
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
            for (int i = 0; i < 16; i += 8) {
                IntVector packed = packed(data, q + i);
                low(packed).mul(d).intoArray(dst, o + i);
                high(packed).mul(d).intoArray(dst, o + 16 + i);
            }
        }
    }
}
