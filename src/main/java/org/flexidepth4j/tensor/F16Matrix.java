package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Row-major IEEE half-precision matrix (fp16 checkpoints: Llama 2 and Mistral 7B v0.1 on the Hub, GGUF F16). The
 * Vector API has no half-to-float conversion, so the kernels convert on int lanes: exponent and mantissa shifted
 * into float position, the exponent re-biased by adding 112 (twice for infinities and NaNs), a subnormal given the
 * exponent of 2^-14 and 2^-14 then subtracted, the sign put back (F. Giesen's half_to_float). No arithmetic on
 * subnormal floats, which costs a microcode assist per instruction on x86.
 * The loops call nothing but the Vector API: see {@link Matrix} on why.
 */
public final class F16Matrix extends Matrix {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int STEP = F.length();
    /** A half's exponent field, shifted to float position. */
    private static final int EXPONENT = 0x7C00 << 13;
    /** (127 - 15) << 23: moves a half's exponent to float's bias (added twice for infinities and NaNs: 255). */
    private static final int REBIAS = 112 << 23;
    /** 2^-14, the smallest normal half: a subnormal is made normal with exponent 2^-14 and this subtracted. */
    private static final float SUBNORMAL_OFFSET = 0x1p-14f;

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
        // one accumulator: the conversion takes longer than an FMA's latency
        FloatVector acc = FloatVector.zero(F);
        int j = 0;
        for (; j + STEP <= cols; j += STEP) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S, data, base + j * 2L, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector shifted = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13), exponent = shifted.and(EXPONENT);
            VectorMask<Integer> special = exponent.compare(VectorOperators.EQ, EXPONENT), subnormal = exponent.compare(VectorOperators.EQ, 0);
            FloatVector magnitude = shifted.add(REBIAS).add(REBIAS, special).add(1 << 23, subnormal).reinterpretAsFloats()
                    .sub(SUBNORMAL_OFFSET, subnormal.cast(F));
            acc = magnitude.reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats()
                    .fma(FloatVector.fromArray(F, x, xOffset + j), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; j < cols; j++) sum += Float.float16ToFloat(data.get(LE_SHORT, base + j * 2L)) * x[xOffset + j];
        return sum;
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        long base = (long) row * cols * 2;
        int j = 0;
        for (; j + STEP <= cols; j += STEP) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(S, data, base + j * 2L, LE).convertShape(VectorOperators.S2I, I, 0);
            IntVector shifted = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13), exponent = shifted.and(EXPONENT);
            VectorMask<Integer> special = exponent.compare(VectorOperators.EQ, EXPONENT), subnormal = exponent.compare(VectorOperators.EQ, 0);
            FloatVector magnitude = shifted.add(REBIAS).add(REBIAS, special).add(1 << 23, subnormal).reinterpretAsFloats()
                    .sub(SUBNORMAL_OFFSET, subnormal.cast(F));
            magnitude.reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats().intoArray(dst, dstOffset + j);
        }
        for (; j < cols; j++) dst[dstOffset + j] = Float.float16ToFloat(data.get(LE_SHORT, base + j * 2L));
    }

    @Override
    public Matrix rowSlice(int first, int n) {
        return new F16Matrix(data.asSlice((long) first * cols * 2, (long) n * cols * 2), n, cols);
    }
}
