package org.flexidepth4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Stores float weights in another dtype, rounding to nearest: BF16 (ties to even, as torch's {@code .to(bfloat16)}),
 * or the GGML block formats bit-for-bit like llama.cpp's reference quantize_row_q8_0_ref / quantize_row_q4_0_ref
 * (used for {@code --quantize q8_0|q4_0} on load, and to store a FlexiDepth plug-in in its base model's dtype).
 */
public final class Quantizer {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Quantizer() {
    }

    /** A new off-heap matrix holding {@code src} in {@code target} (F32, BF16, Q8_0 or Q4_0). */
    public static Matrix quantize(Matrix src, DType target) {
        if (!(target == DType.F32 || target == DType.BF16 || target == DType.Q8_0 || target == DType.Q4_0)) {
            throw new IllegalArgumentException("cannot store weights as " + target + " (supported: F32, BF16, Q8_0, Q4_0)");
        }
        int rows = src.rows(), cols = src.cols();
        if (cols % target.blockSize != 0) throw new IllegalArgumentException("row length " + cols + " is not a multiple of the " + target + " block size " + target.blockSize);
        long rowBytes = target.byteSize(cols);
        MemorySegment dst = Arena.ofAuto().allocate(rowBytes * rows, 64);
        Parallel.pool().forRange(rows, 16, (start, end) -> {
            float[] row = new float[cols];
            for (int r = start; r < end; r++) {
                src.readRow(r, row, 0);
                quantizeRow(target, row, 0, cols, dst, r * rowBytes);
            }
        });
        return Matrices.of(target, dst, rows, cols);
    }

    /** Stores src[off .. off + n) (n a multiple of the block size) as {@code target} into dst at byte offset dstOffset. */
    public static void quantizeRow(DType target, float[] src, int off, int n, MemorySegment dst, long dstOffset) {
        switch (target) {
            case F32 -> MemorySegment.copy(src, off, dst, LE_FLOAT, dstOffset, n);
            case BF16 -> { for (int j = 0; j < n; j++) dst.set(LE_SHORT, dstOffset + 2L * j, toBf16(src[off + j])); }
            case Q8_0, Q4_0 -> {
                for (int b = 0; b < n / target.blockSize; b++) {
                    long o = dstOffset + (long) b * target.blockBytes;
                    int x = off + b * target.blockSize;
                    if (target == DType.Q8_0) q8Block(src, x, dst, o);
                    else q4Block(src, x, dst, o);
                }
            }
            default -> throw new IllegalArgumentException("cannot store weights as " + target);
        }
    }

    /** The bfloat16 nearest to v, ties to even; NaN stays a (quiet) NaN. */
    static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    private static void q8Block(float[] x, int off, MemorySegment dst, long o) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[off + j]));
        float d = amax / 127f;
        float id = d != 0 ? 1f / d : 0f;
        dst.set(LE_SHORT, o, Float.floatToFloat16(d));
        for (int j = 0; j < 32; j++) dst.set(ValueLayout.JAVA_BYTE, o + 2 + j, (byte) roundHalfAway(x[off + j] * id));
    }

    private static void q4Block(float[] x, int off, MemorySegment dst, long o) {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++) {
            float v = x[off + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8f;
        float id = d != 0 ? 1f / d : 0f;
        dst.set(LE_SHORT, o, Float.floatToFloat16(d));
        for (int j = 0; j < 16; j++) {
            // C's (int8_t) cast truncates toward zero; the +8.5 makes that a rounding.
            int lo = Math.min(15, (int) (x[off + j] * id + 8.5f));
            int hi = Math.min(15, (int) (x[off + 16 + j] * id + 8.5f));
            dst.set(ValueLayout.JAVA_BYTE, o + 2 + j, (byte) (lo | (hi << 4)));
        }
    }

    /** C roundf: halves round away from zero. */
    static int roundHalfAway(float v) {
        return (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }
}
