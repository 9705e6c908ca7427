package org.flexidepth4j.load;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.function.ToLongFunction;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.tensor.Matrix;
import org.flexidepth4j.tensor.Parallel;

/**
 * Refuses a weight tensor holding NaN or infinity, so a damaged file fails at load instead of giving NaN logits. A
 * float value is non-finite exactly when its exponent bits are all ones, so float tensors are scanned bit-wise with
 * the Vector API; a block-quantized value is finite whenever its block's float16 scales are, so only those are read.
 */
final class WeightCheck {
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SHORTS = ShortVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int F32_EXPONENT = 0x7F80_0000;
    private static final short BF16_EXPONENT = 0x7F80;
    private static final short F16_EXPONENT = 0x7C00;
    /** Units (values, or blocks of quantized types) per slice of the parallel scan. */
    private static final long SLICE_UNITS = 1 << 20;
    /** Byte offsets of the float16 scales inside one block, per ggml block type (ggml-common.h's block structs). */
    private static final Map<String, int[]> F16_SCALES = Map.ofEntries(
            Map.entry("Q8_0", new int[] {0}), Map.entry("Q4_0", new int[] {0}), Map.entry("Q4_1", new int[] {0, 2}),
            Map.entry("Q5_0", new int[] {0}), Map.entry("Q5_1", new int[] {0, 2}), Map.entry("IQ4_NL", new int[] {0}),
            Map.entry("IQ4_XS", new int[] {0}), Map.entry("Q2_K", new int[] {80, 82}), Map.entry("Q3_K", new int[] {108}),
            Map.entry("Q4_K", new int[] {0, 2}), Map.entry("Q5_K", new int[] {0, 2}), Map.entry("Q6_K", new int[] {208}));

    private WeightCheck() {
    }

    /** Throws a one-line {@link FormatException} naming the tensor when it holds a non-finite value. */
    static void requireFinite(TensorEntry t, Matrix m) {
        MemorySegment data = t.data();
        long bad = switch (t.dtype()) {
            case F32 -> firstNonFiniteF32(data);
            case BF16 -> firstNonFinite16(data, BF16_EXPONENT);
            case F16 -> firstNonFinite16(data, F16_EXPONENT);
            default -> F16_SCALES.containsKey(t.dtype().name())
                    ? firstElementOfBlock(firstNonFiniteBlock(data, t.dtype().blockBytes, F16_SCALES.get(t.dtype().name())), t.dtype().blockSize)
                    : firstNonFiniteRow(m);
        };
        if (bad >= 0) {
            throw new FormatException(t.file(), "tensor " + t.name() + " holds NaN or infinity (element " + bad + "); the file is damaged"
                    + " (--no-weight-check skips this check)");
        }
    }

    private static long firstElementOfBlock(long block, int blockSize) {
        return block < 0 ? -1 : block * blockSize;
    }

    /** Index of the first float32 with all exponent bits set, or -1. */
    static long firstNonFiniteF32(MemorySegment s) {
        return firstInSlices(s, 4, WeightCheck::firstF32InSlice);
    }

    /** Index of the first 16-bit float whose {@code exponentBits} are all set, or -1. */
    static long firstNonFinite16(MemorySegment s, short exponentBits) {
        return firstInSlices(s, 2, slice -> first16InSlice(slice, exponentBits));
    }

    /** Index of the first block with a non-finite float16 scale at one of {@code scaleOffsets}, or -1. */
    static long firstNonFiniteBlock(MemorySegment s, int blockBytes, int[] scaleOffsets) {
        return firstInSlices(s, blockBytes, slice -> firstBlockInSlice(slice, blockBytes, scaleOffsets));
    }

    /**
     * The scan split into slices of {@link #SLICE_UNITS} units of {@code unitBytes} over the worker pool (one thread
     * does not reach the memory bandwidth); the lowest index any slice reports, or -1.
     */
    private static long firstInSlices(MemorySegment s, int unitBytes, ToLongFunction<MemorySegment> scan) {
        long units = s.byteSize() / unitBytes;
        int slices = Math.toIntExact((units + SLICE_UNITS - 1) / SLICE_UNITS);
        LongAccumulator first = new LongAccumulator(Math::min, Long.MAX_VALUE);
        Parallel.pool().forRange(slices, (from, to) -> {
            for (int i = from; i < to; i++) {
                long start = i * SLICE_UNITS, n = Math.min(SLICE_UNITS, units - start);
                long bad = scan.applyAsLong(s.asSlice(start * unitBytes, n * unitBytes));
                if (bad >= 0) {
                    first.accumulate(start + bad);
                    return;
                }
            }
        });
        return first.get() == Long.MAX_VALUE ? -1 : first.get();
    }

    private static long firstF32InSlice(MemorySegment s) {
        long n = s.byteSize() / 4, step = INTS.length(), upper = n - n % step;
        IntVector exponent = IntVector.broadcast(INTS, F32_EXPONENT);
        for (long i = 0; i < upper; i += step) {
            IntVector v = IntVector.fromMemorySegment(INTS, s, 4 * i, ByteOrder.LITTLE_ENDIAN);
            if (v.and(exponent).compare(VectorOperators.EQ, exponent).anyTrue()) return firstScalar32(s, i, i + step);
        }
        return firstScalar32(s, upper, n);
    }

    private static long firstScalar32(MemorySegment s, long from, long to) {
        for (long i = from; i < to; i++) if ((s.get(LE_INT, 4 * i) & F32_EXPONENT) == F32_EXPONENT) return i;
        return -1;
    }

    private static long first16InSlice(MemorySegment s, short exponentBits) {
        long n = s.byteSize() / 2, step = SHORTS.length(), upper = n - n % step;
        ShortVector exponent = ShortVector.broadcast(SHORTS, exponentBits);
        for (long i = 0; i < upper; i += step) {
            ShortVector v = ShortVector.fromMemorySegment(SHORTS, s, 2 * i, ByteOrder.LITTLE_ENDIAN);
            if (v.and(exponent).compare(VectorOperators.EQ, exponent).anyTrue()) return firstScalar16(s, i, i + step, exponentBits);
        }
        return firstScalar16(s, upper, n, exponentBits);
    }

    private static long firstScalar16(MemorySegment s, long from, long to, short exponentBits) {
        for (long i = from; i < to; i++) if ((s.get(LE_SHORT, 2 * i) & exponentBits) == exponentBits) return i;
        return -1;
    }

    private static long firstBlockInSlice(MemorySegment s, int blockBytes, int[] scaleOffsets) {
        long blocks = s.byteSize() / blockBytes;
        for (long b = 0; b < blocks; b++) {
            for (int o : scaleOffsets) if ((s.get(LE_SHORT, b * blockBytes + o) & F16_EXPONENT) == F16_EXPONENT) return b;
        }
        return -1;
    }

    /** A type whose block layout is not listed: dequantize each row and look (slower, still exact). */
    private static long firstNonFiniteRow(Matrix m) {
        float[] row = new float[m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            m.readRow(r, row, 0);
            for (int c = 0; c < row.length; c++) if (!Float.isFinite(row[c])) return (long) r * m.cols() + c;
        }
        return -1;
    }
}
