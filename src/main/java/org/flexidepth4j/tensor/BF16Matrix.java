package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Row-major bfloat16 matrix: widened to float32 in registers (bf16 bits are the top half of a float32).
 * <p>
 * With 16 float lanes (AVX-512) the dot products read 32 bf16 values as 16 int lanes: the even elements are each
 * lane shifted up 16 bits, the odd ones each lane masked, and x is split into its even and odd elements by a
 * two-vector permute that a pass over four rows shares, so no weight needs a widening shuffle. Narrower vectors
 * widen (their two-vector permute is not one instruction). Every row is summed in one order, by {@link #javaDot}, {@link #dotRows} and
 * {@link #dotTokens} alike: the pairs of vectors (even and odd sums), then single vectors into the even sum, then the scalar tail.
 * <p>
 * The loops call nothing but the Vector API: see {@link Matrix} on why.
 * <p>
 * These Java kernels are the reference and the {@code --kernels java} tier; on the native tier every product of this
 * dtype (decode, batched decode, prefill, {@link #dot}) is the library's fd_bf16_matmul, one summation order for all.
 */
public final class BF16Matrix extends Matrix implements RowBlockDot, TokenBlockDot {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    /** A constant species: the Vector API intrinsics need one (a species computed per call falls back to slow Java). */
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int STEP = F.length();
    /** Columns per pair of vectors. */
    private static final int PAIR = 2 * STEP;
    private static final boolean SPLIT_PAIRS = STEP == 16;
    private static final FloatVector EVEN = FloatVector.fromArray(F, new float[] {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30}, 0);
    private static final FloatVector ODD = EVEN.add(1f);

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

    public static float toFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** On the native tier the library's kernel (fd_bf16_matmul, the sums every BF16 matmul gets there), else {@link #javaDot}. */
    @Override
    public float dot(int row, float[] x, int xOffset) {
        if (!Kernels.nativeTier()) return javaDot(row, x, xOffset);
        float[] sum = new float[1];
        Kernels.Native.bf16(Kernels.Native.BEST_LEVEL, data.asSlice((long) row * cols * 2), 1, cols, x, xOffset, 0, 1, sum, 0, 0, false);
        return sum[0];
    }

    /** The Java dot: pairs of vectors (even and odd sums), then single vectors into the even sum, then the scalar tail. */
    float javaDot(int row, float[] x, int xOffset) {
        long base = (long) row * cols * 2;
        FloatVector even = FloatVector.zero(F), odd = even;
        int j = 0;
        for (; j + PAIR <= cols; j += PAIR) {
            FloatVector x0 = FloatVector.fromArray(F, x, xOffset + j), x1 = FloatVector.fromArray(F, x, xOffset + j + STEP);
            if (SPLIT_PAIRS) {
                IntVector w = IntVector.fromMemorySegment(I, data, base + j * 2L, LE);
                even = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(EVEN.selectFrom(x0, x1), even);
                odd = w.and(0xFFFF0000).reinterpretAsFloats().fma(ODD.selectFrom(x0, x1), odd);
            } else {
                even = ShortVector.fromMemorySegment(S, data, base + j * 2L, LE).convertShape(VectorOperators.S2I, I, 0)
                        .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x0, even);
                odd = ShortVector.fromMemorySegment(S, data, base + (j + STEP) * 2L, LE).convertShape(VectorOperators.S2I, I, 0)
                        .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x1, odd);
            }
        }
        for (; j + STEP <= cols; j += STEP) {
            even = ShortVector.fromMemorySegment(S, data, base + j * 2L, LE).convertShape(VectorOperators.S2I, I, 0)
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xOffset + j), even);
        }
        return tail(base, even.add(odd).reduceLanes(VectorOperators.ADD), j, x, xOffset);
    }

    @Override
    boolean nativeMatmulRows(float[] x, int xOffset, int xStride, float[] out, int outOffset, int outStride, int tokens,
                             int rowStart, int rowEnd, boolean add) {
        if (!Kernels.nativeTier()) return false;
        Kernels.Native.bf16(Kernels.Native.BEST_LEVEL, data.asSlice((long) rowStart * cols * 2), rowEnd - rowStart, cols, x, xOffset, xStride,
                tokens, out, outOffset + rowStart, outStride, add);
        return true;
    }

    /** Four rows per pass over x, each summed exactly as {@link #javaDot} sums it: one weight stream does not keep the memory busy. */
    @Override
    public void dotRows(int row, float[] x, int xOffset, float[] out, int outOffset, boolean add) {
        long rowBytes = cols * 2L, b0 = row * rowBytes, b1 = b0 + rowBytes, b2 = b1 + rowBytes, b3 = b2 + rowBytes;
        FloatVector e0 = FloatVector.zero(F), e1 = e0, e2 = e0, e3 = e0, o0 = e0, o1 = e0, o2 = e0, o3 = e0;
        int j = 0;
        for (; j + PAIR <= cols; j += PAIR) {
            FloatVector x0 = FloatVector.fromArray(F, x, xOffset + j), x1 = FloatVector.fromArray(F, x, xOffset + j + STEP);
            long o = j * 2L;
            if (SPLIT_PAIRS) {
                FloatVector xe = EVEN.selectFrom(x0, x1), xo = ODD.selectFrom(x0, x1);
                IntVector w0 = IntVector.fromMemorySegment(I, data, b0 + o, LE), w1 = IntVector.fromMemorySegment(I, data, b1 + o, LE);
                IntVector w2 = IntVector.fromMemorySegment(I, data, b2 + o, LE), w3 = IntVector.fromMemorySegment(I, data, b3 + o, LE);
                e0 = w0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, e0);
                e1 = w1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, e1);
                e2 = w2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, e2);
                e3 = w3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xe, e3);
                o0 = w0.and(0xFFFF0000).reinterpretAsFloats().fma(xo, o0);
                o1 = w1.and(0xFFFF0000).reinterpretAsFloats().fma(xo, o1);
                o2 = w2.and(0xFFFF0000).reinterpretAsFloats().fma(xo, o2);
                o3 = w3.and(0xFFFF0000).reinterpretAsFloats().fma(xo, o3);
            } else {
                long p = o + STEP * 2L;
                e0 = ShortVector.fromMemorySegment(S, data, b0 + o, LE).convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x0, e0);
                e1 = ShortVector.fromMemorySegment(S, data, b1 + o, LE).convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x0, e1);
                e2 = ShortVector.fromMemorySegment(S, data, b2 + o, LE).convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x0, e2);
                e3 = ShortVector.fromMemorySegment(S, data, b3 + o, LE).convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x0, e3);
                o0 = ShortVector.fromMemorySegment(S, data, b0 + p, LE).convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x1, o0);
                o1 = ShortVector.fromMemorySegment(S, data, b1 + p, LE).convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x1, o1);
                o2 = ShortVector.fromMemorySegment(S, data, b2 + p, LE).convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x1, o2);
                o3 = ShortVector.fromMemorySegment(S, data, b3 + p, LE).convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(x1, o3);
            }
        }
        for (; j + STEP <= cols; j += STEP) {
            FloatVector xj = FloatVector.fromArray(F, x, xOffset + j);
            long o = j * 2L;
            e0 = ShortVector.fromMemorySegment(S, data, b0 + o, LE).convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xj, e0);
            e1 = ShortVector.fromMemorySegment(S, data, b1 + o, LE).convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xj, e1);
            e2 = ShortVector.fromMemorySegment(S, data, b2 + o, LE).convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xj, e2);
            e3 = ShortVector.fromMemorySegment(S, data, b3 + o, LE).convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xj, e3);
        }
        RowBlockDot.store(out, outOffset, add, tail(b0, e0.add(o0).reduceLanes(VectorOperators.ADD), j, x, xOffset));
        RowBlockDot.store(out, outOffset + 1, add, tail(b1, e1.add(o1).reduceLanes(VectorOperators.ADD), j, x, xOffset));
        RowBlockDot.store(out, outOffset + 2, add, tail(b2, e2.add(o2).reduceLanes(VectorOperators.ADD), j, x, xOffset));
        RowBlockDot.store(out, outOffset + 3, add, tail(b3, e3.add(o3).reduceLanes(VectorOperators.ADD), j, x, xOffset));
    }

    /**
     * One row against {@code tokens} (2 to 4) tokens, each summed exactly as {@link #javaDot} sums it; the row is widened
     * once for four token slots; fewer tokens repeat the last one's input in the spare slots and drop their sums (one
     * loop for every count, at the price of four tokens' FMAs).
     */
    @Override
    public void dotTokens(int row, int tokens, float[] x, int xOffset, int xStride, float[] out, int outOffset, int outStride, boolean add) {
        long base = (long) row * cols * 2;
        int a0 = xOffset, a1 = a0 + xStride, a2 = tokens > 2 ? a1 + xStride : a1, a3 = tokens > 3 ? a2 + xStride : a2;
        FloatVector e0 = FloatVector.zero(F), e1 = e0, e2 = e0, e3 = e0, o0 = e0, o1 = e0, o2 = e0, o3 = e0;
        int j = 0;
        for (; j + PAIR <= cols; j += PAIR) {
            FloatVector we, wo;
            if (SPLIT_PAIRS) {
                IntVector w = IntVector.fromMemorySegment(I, data, base + j * 2L, LE);
                we = w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                wo = w.and(0xFFFF0000).reinterpretAsFloats();
                FloatVector p = FloatVector.fromArray(F, x, a0 + j), q = FloatVector.fromArray(F, x, a0 + j + STEP);
                e0 = we.fma(EVEN.selectFrom(p, q), e0);
                o0 = wo.fma(ODD.selectFrom(p, q), o0);
                p = FloatVector.fromArray(F, x, a1 + j);
                q = FloatVector.fromArray(F, x, a1 + j + STEP);
                e1 = we.fma(EVEN.selectFrom(p, q), e1);
                o1 = wo.fma(ODD.selectFrom(p, q), o1);
                p = FloatVector.fromArray(F, x, a2 + j);
                q = FloatVector.fromArray(F, x, a2 + j + STEP);
                e2 = we.fma(EVEN.selectFrom(p, q), e2);
                o2 = wo.fma(ODD.selectFrom(p, q), o2);
                p = FloatVector.fromArray(F, x, a3 + j);
                q = FloatVector.fromArray(F, x, a3 + j + STEP);
                e3 = we.fma(EVEN.selectFrom(p, q), e3);
                o3 = wo.fma(ODD.selectFrom(p, q), o3);
            } else {
                we = ShortVector.fromMemorySegment(S, data, base + j * 2L, LE).convertShape(VectorOperators.S2I, I, 0)
                        .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                wo = ShortVector.fromMemorySegment(S, data, base + (j + STEP) * 2L, LE).convertShape(VectorOperators.S2I, I, 0)
                        .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                e0 = we.fma(FloatVector.fromArray(F, x, a0 + j), e0);
                o0 = wo.fma(FloatVector.fromArray(F, x, a0 + j + STEP), o0);
                e1 = we.fma(FloatVector.fromArray(F, x, a1 + j), e1);
                o1 = wo.fma(FloatVector.fromArray(F, x, a1 + j + STEP), o1);
                e2 = we.fma(FloatVector.fromArray(F, x, a2 + j), e2);
                o2 = wo.fma(FloatVector.fromArray(F, x, a2 + j + STEP), o2);
                e3 = we.fma(FloatVector.fromArray(F, x, a3 + j), e3);
                o3 = wo.fma(FloatVector.fromArray(F, x, a3 + j + STEP), o3);
            }
        }
        for (; j + STEP <= cols; j += STEP) {
            FloatVector w = ShortVector.fromMemorySegment(S, data, base + j * 2L, LE).convertShape(VectorOperators.S2I, I, 0)
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            e0 = w.fma(FloatVector.fromArray(F, x, a0 + j), e0);
            e1 = w.fma(FloatVector.fromArray(F, x, a1 + j), e1);
            e2 = w.fma(FloatVector.fromArray(F, x, a2 + j), e2);
            e3 = w.fma(FloatVector.fromArray(F, x, a3 + j), e3);
        }
        RowBlockDot.store(out, outOffset, add, tail(base, e0.add(o0).reduceLanes(VectorOperators.ADD), j, x, a0));
        RowBlockDot.store(out, outOffset + outStride, add, tail(base, e1.add(o1).reduceLanes(VectorOperators.ADD), j, x, a1));
        if (tokens > 2) RowBlockDot.store(out, outOffset + 2 * outStride, add, tail(base, e2.add(o2).reduceLanes(VectorOperators.ADD), j, x, a2));
        if (tokens > 3) RowBlockDot.store(out, outOffset + 3 * outStride, add, tail(base, e3.add(o3).reduceLanes(VectorOperators.ADD), j, x, a3));
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
        for (; j + STEP <= cols; j += STEP) {
            ShortVector.fromMemorySegment(S, data, base + j * 2L, LE).convertShape(VectorOperators.S2I, I, 0)
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstOffset + j);
        }
        for (; j < cols; j++) dst[dstOffset + j] = toFloat(data.get(LE_SHORT, base + j * 2L));
    }

    @Override
    public Matrix rowSlice(int first, int n) {
        return new BF16Matrix(data.asSlice((long) first * cols * 2, (long) n * cols * 2), n, cols);
    }
}
