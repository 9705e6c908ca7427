package org.flexidepth4j.tensor;

import static org.flexidepth4j.tensor.QuantLanes.B;
import static org.flexidepth4j.tensor.QuantLanes.F;
import static org.flexidepth4j.tensor.QuantLanes.I;
import static org.flexidepth4j.tensor.QuantLanes.L;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * GGML's non-linear 4-bit types (llama.cpp's dequantize_row_iq4_nl / iq4_xs): each nibble indexes a fixed table of 16
 * int8 levels. IQ4_NL blocks are 32 values: fp16 d and 16 bytes of nibbles (byte i: element i low, i + 16 high),
 * value = d * level. IQ4_XS super-blocks are 256 values (136 bytes): fp16 d, uint16 scales_h, 4 bytes scales_l, then
 * eight 16-byte groups laid out as IQ4_NL's nibbles; group g's 6-bit scale is nibble g of scales_l with bits 2g, 2g + 1
 * of scales_h on top, value = d * (scale - 32) * level. Both walk 32-value groups with one scale each, so one class
 * serves the two. With 16 float lanes a nibble becomes its level by one lookup ({@code selectFrom} reads the index's
 * low four bits), with 8 by two lookups and a blend. The loops call nothing but the Vector API: see {@link Matrix}.
 */
public final class IQ4Matrix extends BlockMatrix {
    private static final int GROUP = 32;
    private static final int HALF = GROUP / 2;
    private static final int XS_GROUPS = 8;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** ggml's kvalues_iq4nl: the 16 levels a nibble indexes (a format constant). */
    static final float[] LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    private static final boolean ONE_LOOKUP = L == 16;
    /** The levels as float bits: all 16 (16 lanes), or the first 8 (8 lanes). */
    private static final IntVector LOW_LEVELS = FloatVector.fromArray(F, ONE_LOOKUP ? LEVELS : java.util.Arrays.copyOf(LEVELS, L), 0).reinterpretAsInts();
    /** Levels 8-15 for the second lookup of 8 lanes (unused with 16). */
    private static final IntVector HIGH_LEVELS = FloatVector.fromArray(F, ONE_LOOKUP ? LEVELS : java.util.Arrays.copyOfRange(LEVELS, 8, 8 + L), 0).reinterpretAsInts();

    private final boolean xs;

    IQ4Matrix(DType dtype, MemorySegment data, int rows, int cols) {
        super(dtype, data, rows, cols);
        if (dtype != DType.IQ4_NL && dtype != DType.IQ4_XS) throw new IllegalArgumentException("not an IQ4 dtype: " + dtype);
        this.xs = dtype == DType.IQ4_XS;
    }

    /** Byte offset of group g's nibbles in row {@code row}. */
    private long quants(long rowBase, int g) {
        return xs ? rowBase + (long) (g / XS_GROUPS) * DType.IQ4_XS.blockBytes + 8 + 16 * (g % XS_GROUPS)
                : rowBase + (long) g * DType.IQ4_NL.blockBytes + 2;
    }

    /** Group g's scale: d of its block (IQ4_NL) or d * (6-bit scale - 32) (IQ4_XS). */
    private float scale(long rowBase, int g) {
        if (!xs) return Float.float16ToFloat(data.get(LE_SHORT, rowBase + (long) g * DType.IQ4_NL.blockBytes));
        long blk = rowBase + (long) (g / XS_GROUPS) * DType.IQ4_XS.blockBytes;
        int sub = g % XS_GROUPS;
        int high = (data.get(LE_SHORT, blk + 2) >> (2 * sub)) & 3;
        int low = (data.get(LE_INT, blk + 4) >>> (4 * sub)) & 0xF;
        return Float.float16ToFloat(data.get(LE_SHORT, blk)) * ((low | high << 4) - 32);
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = row * rowBytes();
        FloatVector acc = FloatVector.zero(F);
        for (int g = 0; g < cols / GROUP; g++) {
            long q = quants(base, g);
            int xi = xOffset + g * GROUP;
            FloatVector p = FloatVector.zero(F);
            for (int i = 0; i < HALF; i += L) {
                IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, data, q + i, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                IntVector high = packed.lanewise(VectorOperators.ASHR, 4);
                FloatVector lowValues, highValues;
                if (ONE_LOOKUP) {
                    lowValues = packed.selectFrom(LOW_LEVELS).reinterpretAsFloats();
                    highValues = high.selectFrom(LOW_LEVELS).reinterpretAsFloats();
                } else {
                    lowValues = packed.selectFrom(LOW_LEVELS).blend(packed.selectFrom(HIGH_LEVELS), packed.and(8).compare(VectorOperators.NE, 0)).reinterpretAsFloats();
                    highValues = high.selectFrom(LOW_LEVELS).blend(high.selectFrom(HIGH_LEVELS), high.and(8).compare(VectorOperators.NE, 0)).reinterpretAsFloats();
                }
                p = lowValues.fma(FloatVector.fromArray(F, x, xi + i), p);
                p = highValues.fma(FloatVector.fromArray(F, x, xi + HALF + i), p);
            }
            acc = p.fma(FloatVector.broadcast(F, scale(base, g)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        long base = row * rowBytes();
        for (int g = 0; g < cols / GROUP; g++) {
            long q = quants(base, g);
            int o = dstOffset + g * GROUP;
            FloatVector s = FloatVector.broadcast(F, scale(base, g));
            for (int i = 0; i < HALF; i += L) {
                IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, data, q + i, ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.B2I, I, 0);
                IntVector high = packed.lanewise(VectorOperators.ASHR, 4);
                FloatVector lowValues, highValues;
                if (ONE_LOOKUP) {
                    lowValues = packed.selectFrom(LOW_LEVELS).reinterpretAsFloats();
                    highValues = high.selectFrom(LOW_LEVELS).reinterpretAsFloats();
                } else {
                    lowValues = packed.selectFrom(LOW_LEVELS).blend(packed.selectFrom(HIGH_LEVELS), packed.and(8).compare(VectorOperators.NE, 0)).reinterpretAsFloats();
                    highValues = high.selectFrom(LOW_LEVELS).blend(high.selectFrom(HIGH_LEVELS), high.and(8).compare(VectorOperators.NE, 0)).reinterpretAsFloats();
                }
                lowValues.mul(s).intoArray(dst, o + i);
                highValues.mul(s).intoArray(dst, o + HALF + i);
            }
        }
    }
}
