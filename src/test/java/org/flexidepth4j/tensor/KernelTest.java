package org.flexidepth4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Every matrix kernel (dot, readRow, the multi-token matmul, its input-gradient matmulTransposed, rowSlice) against a scalar double-precision
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
            case Q4_K, Q6_K -> {
                random.nextBytes(bytes);
                int bpr = cols / 256;
                for (int r = 0; r < rows; r++) for (int b = 0; b < bpr; b++) {
                    int o = (r * bpr + b) * dtype.blockBytes;
                    for (int half : dtype == DType.Q4_K ? new int[] {0, 2} : new int[] {208}) {
                        seg.set(LE_SHORT, o + half, Float.floatToFloat16((float) (0.001 + 0.01 * random.nextDouble())));
                    }
                    for (int e = 0; e < 256; e++) v[r][b * 256 + e] = dtype == DType.Q4_K ? q4kValue(bytes, o, e) : q6kValue(bytes, o, e);
                }
            }
            default -> throw new IllegalArgumentException(dtype.toString());
        }
        return new Case(Matrices.of(dtype, seg, rows, cols), v);
    }

    /** Value e of a Q4_K super-block at o, element by element from the block definition. */
    private static double q4kValue(byte[] blk, int o, int e) {
        int chunk = e / 64, within = e % 64, sub = 2 * chunk + within / 32, l = within % 32;
        int packed = blk[o + 16 + 32 * chunk + l] & 0xFF;
        int q = within < 32 ? packed & 0xF : packed >> 4;
        int[] s = new int[12];
        for (int i = 0; i < 12; i++) s[i] = blk[o + 4 + i] & 0xFF;
        int scale = sub < 4 ? s[sub] & 63 : (s[sub + 4] & 0xF) | ((s[sub - 4] >> 6) << 4);
        int min = sub < 4 ? s[sub + 4] & 63 : (s[sub + 4] >> 4) | ((s[sub] >> 6) << 4);
        double d = Float.float16ToFloat((short) ((blk[o] & 0xFF) | (blk[o + 1] << 8)));
        double dmin = Float.float16ToFloat((short) ((blk[o + 2] & 0xFF) | (blk[o + 3] << 8)));
        return (float) (d * scale) * q - (float) (dmin * min);
    }

    /** Value e of a Q6_K super-block at o. */
    private static double q6kValue(byte[] blk, int o, int e) {
        int half = e / 128, quarter = (e % 128) / 32, l = e % 32;
        int ql = blk[o + 64 * half + l + (quarter % 2) * 32] & 0xFF;
        int nibble = quarter < 2 ? ql & 0xF : ql >> 4;
        int high = ((blk[o + 128 + 32 * half + l] & 0xFF) >> (2 * quarter)) & 3;
        int scale = blk[o + 192 + 8 * half + l / 16 + 2 * quarter];
        double d = Float.float16ToFloat((short) ((blk[o + 208] & 0xFF) | (blk[o + 209] << 8)));
        return (float) (d * scale) * ((nibble | (high << 4)) - 32);
    }

    static void check(Case c, Random random) {
        check(c, random, 1, 2, 3, 8, 13);
    }

    /** The float-activation kernels (decode of Q8_0 / Q4_0 takes int8 activations by default: {@link #int8DotsMatchTheirReferenceInEveryTier}). */
    static void check(Case c, Random random, int... tokenCounts) {
        Kernels.setActivations(Kernels.Activations.F32);
        try {
            checkFloatActivations(c, random, tokenCounts);
        } finally {
            Kernels.setActivations(Kernels.Activations.Q8);
        }
    }

    private static void checkFloatActivations(Case c, Random random, int... tokenCounts) {
        Matrix m = c.matrix();
        int rows = m.rows(), cols = m.cols();
        // readRow is exact up to the float rounding of the scale products (K-quants): within one ulp.
        float[] row = new float[cols + 3];
        for (int r = 0; r < rows; r++) {
            m.readRow(r, row, 3);
            for (int j = 0; j < cols; j++) {
                double want = c.values()[r][j];
                assertThat((double) row[3 + j]).as("%s readRow(%d)[%d]", m.dtype(), r, j).isCloseTo(want, org.assertj.core.data.Offset.offset((double) Math.ulp((float) want)));
            }
        }
        for (int tokens : tokenCounts) {
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
        for (int tokens : tokenCounts) {
            // dx starts non-zero: the backward adds into it.
            float[] dy = new float[tokens * rows], dx = new float[tokens * cols];
            for (int i = 0; i < dy.length; i++) dy[i] = (float) random.nextGaussian();
            for (int i = 0; i < dx.length; i++) dx[i] = (float) random.nextGaussian();
            float[] dx0 = dx.clone();
            m.matmulTransposed(dy, dx, tokens);
            for (int t = 0; t < tokens; t++) {
                for (int j = 0; j < cols; j++) {
                    double ref = dx0[t * cols + j], scale = Math.abs(ref);
                    for (int r = 0; r < rows; r++) {
                        ref += dy[t * rows + r] * c.values()[r][j];
                        scale += Math.abs(dy[t * rows + r] * c.values()[r][j]);
                    }
                    assertThat((double) dx[t * cols + j]).as("%s [%dx%d] matmulTransposed t=%d of %d col %d", m.dtype(), rows, cols, t, tokens, j)
                            .isCloseTo(ref, org.assertj.core.data.Offset.offset(1e-5 * scale + 1e-30));
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
            for (int[] shape : new int[][] {{1, 1}, {3, 7}, {5, 8}, {9, 33}, {13, 67}, {6, 256}, {4, 1000}, {7, 56}}) {
                check(randomMatrix(dtype, shape[0], shape[1]), random);
            }
        }
    }

    @Test
    void blockKernelsMatchDoubleReference() {
        for (DType dtype : new DType[] {DType.Q8_0, DType.Q4_0}) {
            // 7 blocks: one pass of the four-block loop, then three single blocks
            for (int[] shape : new int[][] {{1, 32}, {3, 64}, {5, 96}, {9, 256}, {7, 1024}, {6, 224}}) {
                check(randomMatrix(dtype, shape[0], shape[1]), random);
            }
        }
    }

    @Test
    void kQuantKernelsMatchDoubleReference() {
        for (DType dtype : new DType[] {DType.Q4_K, DType.Q6_K}) {
            for (int[] shape : new int[][] {{1, 256}, {5, 512}, {9, 768}}) {
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

    @Test
    void columnPanelsMatchDoubleReference() {
        // Wider than ColumnPanels.MAX_PLAIN_COLS, so split: two full panels and a last one of one K-quant block.
        int cols = 2 * ColumnPanels.PANEL_COLS + 256;
        for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F16, DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K}) {
            Case plain = randomMatrix(dtype, 5, cols);
            Matrix panels = ColumnPanels.of(plain.matrix());
            assertThat(panels).isInstanceOf(ColumnPanels.class);
            assertThat(panels.dtype()).isEqualTo(dtype);
            assertThat(panels.byteSize()).isEqualTo(plain.matrix().byteSize());
            check(new Case(panels, plain.values()), random);
        }
        assertThat(ColumnPanels.of(randomMatrix(DType.BF16, 2, ColumnPanels.MAX_PLAIN_COLS).matrix())).isNotInstanceOf(ColumnPanels.class);
    }

    @Test
    void halfPrecisionConvertsEveryBitPatternExactly() {
        // all 65,536 halves (zeros, subnormals, normals, infinities, NaNs) against Float.float16ToFloat, bit for bit
        int n = 1 << 16;
        MemorySegment seg = MemorySegment.ofArray(new short[n]);
        for (int i = 0; i < n; i++) seg.set(LE_SHORT, 2L * i, (short) i);
        Matrix m = Matrices.of(DType.F16, seg, 1, n);
        float[] row = new float[n];
        m.readRow(0, row, 0);
        for (int i = 0; i < n; i++) {
            float expected = Float.float16ToFloat((short) i);
            if (Float.isNaN(expected)) assertThat(row[i]).as("half 0x%04x", i).isNaN();
            else assertThat(Float.floatToRawIntBits(row[i])).as("half 0x%04x", i).isEqualTo(Float.floatToRawIntBits(expected));
        }
        // dot over the finite ones, against a double sum of the same products
        int finite = 0x7C00;
        float[] x = new float[finite];
        double expected = 0;
        for (int i = 0; i < finite; i++) {
            x[i] = (i % 7 - 3) * 1e-3f;
            expected += (double) Float.float16ToFloat((short) i) * x[i];
        }
        assertThat((double) Matrices.of(DType.F16, seg.asSlice(0, 2L * finite), 1, finite).dot(0, x, 0)).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-3 * Math.abs(expected) + 1e-6));
    }

    /**
     * The integer dots of Q8_0 and Q4_0 against int8 activations: the Java kernels and every level of the native
     * library this CPU runs, on the same inputs, against a double sum of the same integer products (and within the
     * activation rounding bound of the exact float product). Plain matrices and column panels, 1-3 tokens.
     */
    @Test
    void int8DotsMatchTheirReferenceInEveryTier() {
        int panelCols = 2 * ColumnPanels.PANEL_COLS + 64;
        try {
            for (DType dtype : new DType[] {DType.Q8_0, DType.Q4_0}) {
                for (int[] shape : new int[][] {{1, 32}, {3, 64}, {5, 96}, {9, 256}, {7, 1024}, {131, 512}, {5, panelCols}}) {
                    Case c = randomMatrix(dtype, shape[0], shape[1]);
                    Matrix m = shape[1] == panelCols ? ColumnPanels.of(c.matrix()) : c.matrix();
                    for (int tokens : new int[] {1, 3}) checkInt8(c, m, tokens);
                }
            }
        } finally {
            Kernels.choose(Kernels.Choice.AUTO);
        }
    }

    private void checkInt8(Case c, Matrix m, int tokens) {
        int rows = m.rows(), cols = m.cols(), xStride = cols + 7;
        float[] x = new float[3 + tokens * xStride];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        Q8Activations qx = Q8Activations.quantize(x, 3, xStride, cols, tokens);
        double[][] ref = new double[tokens][rows], scale = new double[tokens][rows], bound = new double[tokens][rows];
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < cols; j++) {
                    int block = qx.firstBlock(t) + j / 32;
                    double w = c.values()[r][j], xq = qx.quants[t * cols + j] * (double) qx.scales[block];
                    ref[t][r] += w * xq;
                    scale[t][r] += Math.abs(w * xq);
                    bound[t][r] += Math.abs(w) * qx.scales[block] / 2;
                    assertThat(Math.abs(xq - x[3 + t * xStride + j])).isLessThanOrEqualTo(qx.scales[block] * 0.5000001);
                }
            }
        }
        java.util.List<String> tiers = new java.util.ArrayList<>(java.util.List.of("java"));
        if (Kernels.nativeAvailable()) tiers.add("native");
        for (String tier : tiers) {
            Kernels.choose(tier.equals("java") ? Kernels.Choice.JAVA : Kernels.Choice.NATIVE);
            float[] out = new float[2 + tokens * (rows + 1)];
            m.matmul(x, 3, xStride, out, 2, rows + 1, tokens);
            for (int t = 0; t < tokens; t++) {
                for (int r = 0; r < rows; r++) {
                    double got = out[2 + t * (rows + 1) + r], exact = 0;
                    for (int j = 0; j < cols; j++) exact += c.values()[r][j] * x[3 + t * xStride + j];
                    assertThat(got).as("%s %s [%dx%d] t=%d row %d", tier, m.dtype(), rows, cols, t, r).isCloseTo(ref[t][r], org.assertj.core.data.Offset.offset(1e-5 * scale[t][r] + 1e-30));
                    assertThat(Math.abs(got - exact)).as("%s %s rounding of the activations", tier, m.dtype()).isLessThanOrEqualTo(bound[t][r] * 1.0001 + 1e-5 * scale[t][r]);
                }
            }
        }
        if (Kernels.nativeAvailable() && !(m instanceof ColumnPanels)) {
            // every level this CPU runs, called directly (portable C is level 0), one token
            for (int level = 0; level <= Kernels.Native.BEST_LEVEL; level++) {
                float[] out = new float[rows];
                Kernels.Native.rows(m.dtype() == DType.Q8_0 ? Kernels.Native.Q8_0_ROWS : Kernels.Native.Q4_0_ROWS, level, m.segment(),
                        m.dtype().byteSize(cols), rows, cols / 32, qx, 0, out, 0, false);
                for (int r = 0; r < rows; r++) {
                    assertThat((double) out[r]).as("native level %d %s row %d", level, m.dtype(), r).isCloseTo(ref[0][r], org.assertj.core.data.Offset.offset(1e-5 * scale[0][r] + 1e-30));
                }
            }
        }
    }

    @Test
    void manyTokensOverLongRows() {
        // Token counts that leave a partial register block after the full ones, over rows longer than L1.
        check(randomMatrix(DType.Q8_0, 9, 2048), random, 37);
        check(randomMatrix(DType.F32, 6, 4100), random, 35);
    }
}
