package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Row-major little-endian float32 matrix, over a mapped file region or a heap array. */
public final class F32Matrix extends Matrix {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment data;

    public F32Matrix(MemorySegment data, int rows, int cols) {
        super(rows, cols);
        this.data = data;
    }

    /** A heap matrix over {@code values} (shared, not copied). */
    public static F32Matrix of(float[] values, int rows, int cols) {
        if (values.length != rows * cols) throw new IllegalArgumentException("expected " + rows * cols + " values, got " + values.length);
        return new F32Matrix(MemorySegment.ofArray(values), rows, cols);
    }

    @Override
    public DType dtype() {
        return DType.F32;
    }

    @Override
    public MemorySegment segment() {
        return data;
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = (long) row * cols * 4;
        int j = 0;
        int upper = F.loopBound(cols);
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int step = F.length();
        for (; j + step < upper; j += 2 * step) {
            acc0 = FloatVector.fromMemorySegment(F, data, base + j * 4L, ByteOrder.LITTLE_ENDIAN).fma(FloatVector.fromArray(F, x, xOffset + j), acc0);
            acc1 = FloatVector.fromMemorySegment(F, data, base + (j + step) * 4L, ByteOrder.LITTLE_ENDIAN).fma(FloatVector.fromArray(F, x, xOffset + j + step), acc1);
        }
        for (; j < upper; j += step) {
            acc0 = FloatVector.fromMemorySegment(F, data, base + j * 4L, ByteOrder.LITTLE_ENDIAN).fma(FloatVector.fromArray(F, x, xOffset + j), acc0);
        }
        float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; j < cols; j++) sum += data.get(LE_FLOAT, base + j * 4L) * x[xOffset + j];
        return sum;
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        MemorySegment.copy(data, LE_FLOAT, (long) row * cols * 4, dst, dstOffset, cols);
    }

    @Override
    public Matrix rowSlice(int first, int n) {
        return new F32Matrix(data.asSlice((long) first * cols * 4, (long) n * cols * 4), n, cols);
    }
}
