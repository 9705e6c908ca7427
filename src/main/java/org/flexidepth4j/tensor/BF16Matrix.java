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
public final class BF16Matrix extends Matrix implements RowBlockDot {
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
        return tail(base, acc0.add(acc1).reduceLanes(VectorOperators.ADD), j, x, xOffset);
    }

    /**
     * Four rows per pass over x, each summed exactly as {@link #dot} sums it. Why: on an Intel Xeon VM one row at a
     * time streamed 9.6 GB/s against a 15 GB/s ceiling, four rows at once 12.3; the synthetic 1B decode went from 3.0
     * to 4.1 tok/s on one thread and from 5.1 to 7.4-8.3 on two (docs/PERFORMANCE.md).
     */
    @Override
    public void dotRows(int row, float[] x, int xOffset, float[] out, int outOffset, boolean add) {
        long rowBytes = cols * 2L, b0 = row * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes;
        int step = F.length();
        int upper = F.loopBound(cols);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
        int j = 0;
        for (; j + step < upper; j += 2 * step) {
            FloatVector x0 = FloatVector.fromArray(F, x, xOffset + j), x1 = FloatVector.fromArray(F, x, xOffset + j + step);
            long o0 = j * 2L, o1 = o0 + step * 2L;
            a0 = load(data, b0 + o0).fma(x0, a0);
            a1 = load(data, b1 + o0).fma(x0, a1);
            a2 = load(data, b2 + o0).fma(x0, a2);
            a3 = load(data, b3 + o0).fma(x0, a3);
            c0 = load(data, b0 + o1).fma(x1, c0);
            c1 = load(data, b1 + o1).fma(x1, c1);
            c2 = load(data, b2 + o1).fma(x1, c2);
            c3 = load(data, b3 + o1).fma(x1, c3);
        }
        for (; j < upper; j += step) {
            FloatVector x0 = FloatVector.fromArray(F, x, xOffset + j);
            long o0 = j * 2L;
            a0 = load(data, b0 + o0).fma(x0, a0);
            a1 = load(data, b1 + o0).fma(x0, a1);
            a2 = load(data, b2 + o0).fma(x0, a2);
            a3 = load(data, b3 + o0).fma(x0, a3);
        }
        float s0 = a0.add(c0).reduceLanes(VectorOperators.ADD), s1 = a1.add(c1).reduceLanes(VectorOperators.ADD);
        float s2 = a2.add(c2).reduceLanes(VectorOperators.ADD), s3 = a3.add(c3).reduceLanes(VectorOperators.ADD);
        store(out, outOffset, add, tail(b0, s0, j, x, xOffset));
        store(out, outOffset + 1, add, tail(b1, s1, j, x, xOffset));
        store(out, outOffset + 2, add, tail(b2, s2, j, x, xOffset));
        store(out, outOffset + 3, add, tail(b3, s3, j, x, xOffset));
    }

    private static void store(float[] out, int index, boolean add, float value) {
        out[index] = add ? out[index] + value : value;
    }

    /** {@code sum} plus the scalar tail from column {@code from} of the row at {@code base}. */
    private float tail(long base, float sum, int from, float[] x, int xOffset) {
        for (int j = from; j < cols; j++) sum += toFloat(data.get(LE_SHORT, base + j * 2L)) * x[xOffset + j];
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
