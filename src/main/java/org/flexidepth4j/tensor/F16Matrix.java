package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Row-major IEEE half-precision matrix; rare in the models we run, so a plain scalar kernel. */
public final class F16Matrix extends Matrix {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment data;

    public F16Matrix(MemorySegment data, int rows, int cols) {
        super(rows, cols);
        this.data = data;
    }

    @Override
    public DType dtype() {
        return DType.F16;
    }

    @Override
    public MemorySegment segment() {
        return data;
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = (long) row * cols * 2;
        float sum = 0;
        for (int j = 0; j < cols; j++) sum += Float.float16ToFloat(data.get(LE_SHORT, base + j * 2L)) * x[xOffset + j];
        return sum;
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        long base = (long) row * cols * 2;
        for (int j = 0; j < cols; j++) dst[dstOffset + j] = Float.float16ToFloat(data.get(LE_SHORT, base + j * 2L));
    }

    @Override
    public Matrix rowSlice(int first, int n) {
        return new F16Matrix(data.asSlice((long) first * cols * 2, (long) n * cols * 2), n, cols);
    }
}
