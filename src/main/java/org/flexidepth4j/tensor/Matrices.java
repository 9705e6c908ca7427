package org.flexidepth4j.tensor;

import java.lang.foreign.MemorySegment;

/** The dtype-to-kernel table: one place that knows which Matrix implementation serves each stored dtype. */
public final class Matrices {
    private Matrices() {
    }

    /** Whether weights of this dtype can be multiplied directly. */
    public static boolean supports(DType dtype) {
        return switch (dtype) {
            case F32, BF16, F16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS -> true;
            default -> false;
        };
    }

    /** A view of {@code data} as a [rows, cols] matrix; the caller has checked the byte length. */
    public static Matrix of(DType dtype, MemorySegment data, int rows, int cols) {
        return switch (dtype) {
            case F32 -> new F32Matrix(data, rows, cols);
            case BF16 -> new BF16Matrix(data, rows, cols);
            case F16 -> new F16Matrix(data, rows, cols);
            case Q8_0 -> new Q8_0Matrix(data, rows, cols);
            case Q4_0 -> new Q4_0Matrix(data, rows, cols);
            case Q4_K -> new Q4_KMatrix(data, rows, cols);
            case Q6_K -> new Q6_KMatrix(data, rows, cols);
            case Q5_K -> new Q5_KMatrix(data, rows, cols);
            case Q4_1, Q5_0, Q5_1 -> new AffineBlockMatrix(dtype, data, rows, cols);
            case Q2_K, Q3_K -> new LowBitKMatrix(dtype, data, rows, cols);
            case IQ4_NL, IQ4_XS -> new IQ4Matrix(dtype, data, rows, cols);
            default -> throw new IllegalArgumentException("no matrix kernel for dtype " + dtype);
        };
    }
}
