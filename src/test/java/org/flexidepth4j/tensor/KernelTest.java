package org.flexidepth4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Every matrix kernel (dot, readRow, the multi-token matmul, rowSlice) against a scalar double-precision
 * reference that decodes the stored bytes straight from the format definition.
 */
class KernelTest {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private final Random random = new Random(42);

    /** A matrix of random stored bytes plus its values decoded independently in double precision. */
    record Case(Matrix matrix, double[][] values) {
    }

    Case randomMatrix(DType dtype, int rows, int cols) {
        byte[] bytes = new byte[(int) dtype.byteSize((long) rows * cols)];
        MemorySegment seg = MemorySegment.ofArray(bytes);
        double[][] v = new double[rows][cols];
        switch (dtype) {
            case F32 -> {
                for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) {
                    float f = (float) random.nextGaussian();
                    seg.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4L * (r * cols + c), f);
                    v[r][c] = f;
                }
            }
            case BF16 -> {
                for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) {
                    short bits = (short) (Float.floatToIntBits((float) random.nextGaussian()) >>> 16);
                    seg.set(LE_SHORT, 2L * (r * cols + c), bits);
                    v[r][c] = Float.intBitsToFloat(bits << 16);
                }
            }
            case F16 -> {
                for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) {
                    short bits = Float.floatToFloat16((float) random.nextGaussian());
                    seg.set(LE_SHORT, 2L * (r * cols + c), bits);
                    v[r][c] = Float.float16ToFloat(bits);
                }
            }
            case Q8_0, Q4_0 -> {
                random.nextBytes(bytes);
                int bpr = cols / 32;
                for (int r = 0; r < rows; r++) for (int b = 0; b < bpr; b++) {
                    long o = (long) (r * bpr + b) * dtype.blockBytes;
                    short d = Float.floatToFloat16((float) (0.001 + 0.1 * random.nextDouble()) * (random.nextBoolean() ? 1 : -1));
                    seg.set(LE_SHORT, o, d);
                    double scale = Float.float16ToFloat(d);
                    for (int i = 0; i < 32; i++) {
                        int q;
                        if (dtype == DType.Q8_0) q = bytes[(int) o + 2 + i];
                        else {
                            int packed = bytes[(int) o + 2 + (i % 16)] & 0xFF;
                            q = (i < 16 ? packed & 0xF : packed >> 4) - 8;
                        }
                        v[r][b * 32 + i] = q * scale;
                    }
                }
            }
            default -> throw new IllegalArgumentException(dtype.toString());
        }
        return new Case(Matrices.of(dtype, seg, rows, cols), v);
    }

    static void check(Case c, Random random) {
        Matrix m = c.matrix();
        int rows = m.rows(), cols = m.cols();
        // readRow is exact: the stored values are representable in float.
        float[] row = new float[cols + 3];
        for (int r = 0; r < rows; r++) {
            m.readRow(r, row, 3);
            for (int j = 0; j < cols; j++) assertThat((double) row[3 + j]).as("%s readRow(%d)[%d]", m.dtype(), r, j).isEqualTo(c.values()[r][j]);
        }
        for (int tokens : new int[] {1, 2, 3, 8}) {
            int xStride = cols + 5, outStride = rows + 2;
            float[] x = new float[2 + tokens * xStride];
            for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
            float[] out = new float[1 + tokens * outStride];
            m.matmul(x, 2, xStride, out, 1, outStride, tokens);
            for (int t = 0; t < tokens; t++) {
                for (int r = 0; r < rows; r++) {
                    double ref = 0, scale = 0;
                    for (int j = 0; j < cols; j++) {
                        ref += c.values()[r][j] * x[2 + t * xStride + j];
                        scale += Math.abs(c.values()[r][j] * x[2 + t * xStride + j]);
                    }
                    double tol = 1e-5 * scale + 1e-30;
                    assertThat((double) out[1 + t * outStride + r]).as("%s [%dx%d] matmul t=%d of %d row %d", m.dtype(), rows, cols, t, tokens, r).isCloseTo(ref, org.assertj.core.data.Offset.offset(tol));
                    if (tokens == 1) assertThat((double) m.dot(r, x, 2)).isCloseTo(ref, org.assertj.core.data.Offset.offset(tol));
                }
            }
        }
        if (rows > 2) {
            Matrix slice = m.rowSlice(1, rows - 2);
            float[] a = new float[cols], b = new float[cols];
            for (int r = 0; r < rows - 2; r++) {
                slice.readRow(r, a, 0);
                m.readRow(r + 1, b, 0);
                assertThat(a).as("%s rowSlice", m.dtype()).containsExactly(b);
            }
        }
    }

    @Test
    void floatKernelsMatchDoubleReference() {
        for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            for (int[] shape : new int[][] {{1, 1}, {3, 7}, {5, 8}, {9, 33}, {13, 67}, {6, 256}, {4, 1000}}) {
                check(randomMatrix(dtype, shape[0], shape[1]), random);
            }
        }
    }

    @Test
    void blockKernelsMatchDoubleReference() {
        for (DType dtype : new DType[] {DType.Q8_0, DType.Q4_0}) {
            for (int[] shape : new int[][] {{1, 32}, {3, 64}, {5, 96}, {9, 256}, {7, 1024}}) {
                check(randomMatrix(dtype, shape[0], shape[1]), random);
            }
        }
    }

    @Test
    void parallelMatmulMatchesReference() {
        // Large enough to be split across the pool; rows not a multiple of the tile height.
        check(randomMatrix(DType.Q4_0, 131, 512), random);
        check(randomMatrix(DType.BF16, 257, 200), random);
    }
}
