package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/** Row-major bfloat16 matrix: widened to float32 in registers (bf16 bits are the top half of a float32). */
public final class BF16Matrix extends Matrix {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    /** A constant species: the Vector API intrinsics need one (a species computed per call falls back to slow Java). */
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment data;

    public BF16Matrix(MemorySegment data, int rows, int cols) {
        super(rows, cols);
        this.data = data;
    }

    @Override
    public DType dtype() {
        return DType.BF16;
    }

    @Override
    public MemorySegment segment() {
        return data;
    }

    static FloatVector load(MemorySegment data, long byteOffset) {
        return ShortVector.fromMemorySegment(S, data, byteOffset, ByteOrder.LITTLE_ENDIAN)
                .convertShape(VectorOperators.S2I, I, 0)
                .lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    public static float toFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = (long) row * cols * 2;
        int step = F.length();
        int upper = F.loopBound(cols);
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int j = 0;
        for (; j + step < upper; j += 2 * step) {
            acc0 = load(data, base + j * 2L).fma(FloatVector.fromArray(F, x, xOffset + j), acc0);
            acc1 = load(data, base + (j + step) * 2L).fma(FloatVector.fromArray(F, x, xOffset + j + step), acc1);
        }
        for (; j < upper; j += step) {
            acc0 = load(data, base + j * 2L).fma(FloatVector.fromArray(F, x, xOffset + j), acc0);
        }
        float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; j < cols; j++) sum += toFloat(data.get(LE_SHORT, base + j * 2L)) * x[xOffset + j];
        return sum;
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        long base = (long) row * cols * 2;
        int j = 0;
        for (int upper = F.loopBound(cols); j < upper; j += F.length()) load(data, base + j * 2L).intoArray(dst, dstOffset + j);
        for (; j < cols; j++) dst[dstOffset + j] = toFloat(data.get(LE_SHORT, base + j * 2L));
    }

    @Override
    public Matrix rowSlice(int first, int n) {
        return new BF16Matrix(data.asSlice((long) first * cols * 2, (long) n * cols * 2), n, cols);
    }
}
