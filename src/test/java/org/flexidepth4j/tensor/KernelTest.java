package org.flexidepth4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
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
            default -> {
                // every other block type: random bytes with its fp16 fields set to small scales (either sign where
                // the format allows it), values decoded element by element from the block definition
                random.nextBytes(bytes);
                int bpr = cols / dtype.blockSize;
                for (int r = 0; r < rows; r++) for (int b = 0; b < bpr; b++) {
                    int o = (r * bpr + b) * dtype.blockBytes;
                    for (int half : halfFields(dtype)) {
                        double sign = dtype == DType.Q4_1 || dtype == DType.Q5_1 || dtype == DType.Q5_0 || dtype == DType.IQ4_NL ? (random.nextBoolean() ? 1 : -1) : 1;
                        seg.set(LE_SHORT, o + half, Float.floatToFloat16((float) (sign * (0.001 + 0.01 * random.nextDouble()))));
                    }
                    for (int e = 0; e < dtype.blockSize; e++) v[r][b * dtype.blockSize + e] = blockValue(dtype, bytes, o, e);
                }
            }
        }
        return new Case(Matrices.of(dtype, seg, rows, cols), v);
    }

    /** Offsets of the fp16 scales in a block of each type. */
    private static int[] halfFields(DType dtype) {
        return switch (dtype) {
            case Q4_1, Q5_1, Q4_K, Q5_K -> new int[] {0, 2};
            case Q5_0, IQ4_NL, IQ4_XS -> new int[] {0};
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            case Q6_K -> new int[] {208};
            default -> throw new IllegalArgumentException(dtype.toString());
        };
    }

    /** ggml's kvalues_iq4nl. */
    private static final int[] IQ4_LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    private static int u8(byte[] blk, int i) {
        return blk[i] & 0xFF;
    }

    private static double half(byte[] blk, int i) {
        return Float.float16ToFloat((short) (u8(blk, i) | (blk[i + 1] << 8)));
    }

    /** Nibble i of 32 in 16 bytes at q: byte i % 16, low nibble for i < 16. */
    private static int nibble(byte[] blk, int q, int i) {
        int packed = u8(blk, q + i % 16);
        return i < 16 ? packed & 0xF : packed >> 4;
    }

    /**
     * Value e of the block at o, element by element from llama.cpp's block definitions (ggml-common.h) and
     * dequantize_row_* semantics; float roundings as ggml's (a float scale product times an integer).
     */
    private static double blockValue(DType dtype, byte[] blk, int o, int e) {
        switch (dtype) {
            case Q4_1: return nibble(blk, o + 4, e) * half(blk, o) + half(blk, o + 2);
            case Q5_0: case Q5_1: {
                boolean q51 = dtype == DType.Q5_1;
                int qhAt = o + (q51 ? 4 : 2);
                long qh = u8(blk, qhAt) | u8(blk, qhAt + 1) << 8 | u8(blk, qhAt + 2) << 16 | (long) u8(blk, qhAt + 3) << 24;
                int q = nibble(blk, qhAt + 4, e) | (int) ((qh >> e) & 1) << 4;
                return q51 ? q * half(blk, o) + half(blk, o + 2) : (q - 16) * half(blk, o);
            }
            case IQ4_NL: return (float) half(blk, o) * IQ4_LEVELS[nibble(blk, o + 2, e)];
            case IQ4_XS: {
                int g = e / 32;
                int scalesH = u8(blk, o + 2) | u8(blk, o + 3) << 8;
                int ls = ((u8(blk, o + 4 + g / 2) >> 4 * (g % 2)) & 0xF) | ((scalesH >> 2 * g) & 3) << 4;
                return (float) (half(blk, o) * (ls - 32)) * IQ4_LEVELS[nibble(blk, o + 8 + 16 * g, e % 32)];
            }
            case Q2_K: {
                int n = e / 128, j = (e % 128) / 32, l = e % 32;
                int q = (u8(blk, o + 16 + 32 * n + l) >> 2 * j) & 3;
                int sc = u8(blk, o + 8 * n + 2 * j + l / 16);
                return (float) (half(blk, o + 80) * (sc & 0xF)) * q - (float) (half(blk, o + 82) * (sc >> 4));
            }
            case Q3_K: {
                int n = e / 128, j = (e % 128) / 32, l = e % 32;
                int q = (u8(blk, o + 32 + 32 * n + l) >> 2 * j) & 3;
                boolean highBit = (u8(blk, o + l) & (1 << (4 * n + j))) != 0;
                // the 16 6-bit scales as ggml unpacks them: four little-endian words of the 12 bytes
                int[] aux = new int[3];
                for (int w = 0; w < 3; w++) for (int i = 0; i < 4; i++) aux[w] |= u8(blk, o + 96 + 4 * w + i) << 8 * i;
                int[] words = {
                        (aux[0] & 0x0f0f0f0f) | ((aux[2] & 0x03030303) << 4),
                        (aux[1] & 0x0f0f0f0f) | (((aux[2] >>> 2) & 0x03030303) << 4),
                        ((aux[0] >>> 4) & 0x0f0f0f0f) | (((aux[2] >>> 4) & 0x03030303) << 4),
                        ((aux[1] >>> 4) & 0x0f0f0f0f) | (((aux[2] >>> 6) & 0x03030303) << 4)};
                int k = 8 * n + 2 * j + l / 16;
                int scale = (byte) (words[k / 4] >>> 8 * (k % 4));
                return (float) (half(blk, o + 108) * (scale - 32)) * (q - (highBit ? 0 : 4));
            }
            case Q4_K: case Q5_K: {
                int chunk = e / 64, within = e % 64, sub = 2 * chunk + within / 32, l = within % 32;
                boolean q5 = dtype == DType.Q5_K;
                int packed = u8(blk, o + (q5 ? 48 : 16) + 32 * chunk + l);
                int q = (within < 32 ? packed & 0xF : packed >> 4) + (q5 ? ((u8(blk, o + 16 + l) >> sub) & 1) * 16 : 0);
                int[] sc = new int[12];
                for (int i = 0; i < 12; i++) sc[i] = u8(blk, o + 4 + i);
                int scale = sub < 4 ? sc[sub] & 63 : (sc[sub + 4] & 0xF) | ((sc[sub - 4] >> 6) << 4);
                int min = sub < 4 ? sc[sub + 4] & 63 : (sc[sub + 4] >> 4) | ((sc[sub] >> 6) << 4);
                return (float) (half(blk, o) * scale) * q - (float) (half(blk, o + 2) * min);
            }
            case Q6_K: {
                int hf = e / 128, quarter = (e % 128) / 32, l = e % 32;
                int ql = u8(blk, o + 64 * hf + l + (quarter % 2) * 32);
                int nib = quarter < 2 ? ql & 0xF : ql >> 4;
                int high = (u8(blk, o + 128 + 32 * hf + l) >> (2 * quarter)) & 3;
                int scale = blk[o + 192 + 8 * hf + l / 16 + 2 * quarter];
                return (float) (half(blk, o + 208) * scale) * ((nib | (high << 4)) - 32);
            }
            default: throw new IllegalArgumentException(dtype.toString());
        }
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
        for (DType dtype : new DType[] {DType.F32, DType.F16}) {
            for (int[] shape : FLOAT_SHAPES) check(randomMatrix(dtype, shape[0], shape[1]), random);
        }
    }

    private static final int[][] FLOAT_SHAPES = {{1, 1}, {3, 7}, {5, 8}, {9, 33}, {13, 67}, {6, 256}, {4, 1000}, {7, 56}};

    /**
     * BF16 in both tiers on the same inputs against the double reference: decode, batched decode (partial blocks of
     * tokens), prefill past {@link Matrix#GEMM_MIN_TOKENS} (the Java Gemm, the native several-token loop), column panels.
     */
    @Test
    void bf16KernelsMatchDoubleReferenceInEveryTier() {
        java.util.List<Kernels.Choice> tiers = Kernels.nativeAvailable() ? java.util.List.of(Kernels.Choice.JAVA, Kernels.Choice.NATIVE)
                : java.util.List.of(Kernels.Choice.JAVA);
        try {
            for (Kernels.Choice tier : tiers) {
                Kernels.choose(tier);
                for (int[] shape : FLOAT_SHAPES) check(randomMatrix(DType.BF16, shape[0], shape[1]), random, 1, 2, 3, 5, 8, 13, Matrix.GEMM_MIN_TOKENS + 5);
                check(randomMatrix(DType.BF16, 53, 2048 + 24), random, 1, 7, Matrix.GEMM_MIN_TOKENS + 5);
                Case plain = randomMatrix(DType.BF16, 5, 2 * ColumnPanels.PANEL_COLS + 256);
                check(new Case(ColumnPanels.of(plain.matrix()), plain.values()), random, 1, 3, Matrix.GEMM_MIN_TOKENS + 5);
            }
        } finally {
            Kernels.choose(Kernels.Choice.AUTO);
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
        for (DType dtype : new DType[] {DType.Q4_K, DType.Q6_K, DType.Q2_K, DType.Q3_K, DType.Q5_K, DType.IQ4_XS}) {
            for (int[] shape : new int[][] {{1, 256}, {5, 512}, {9, 768}, {7, 1280}}) {
                check(randomMatrix(dtype, shape[0], shape[1]), random);
            }
        }
    }

    @Test
    void smallBlockKernelsMatchDoubleReference() {
        // one to seven 32-value blocks per row, row counts that leave partial register blocks
        for (DType dtype : new DType[] {DType.Q4_1, DType.Q5_0, DType.Q5_1, DType.IQ4_NL}) {
            for (int[] shape : new int[][] {{1, 32}, {3, 64}, {5, 96}, {7, 1024}, {17, 160}}) {
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
        // the new kernel classes by one dtype each: panels only cut rows at block boundaries
        for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F16, DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K,
                DType.Q5_1, DType.Q3_K, DType.Q5_K, DType.IQ4_XS}) {
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
     * The integer dots of Q8_0, Q4_0, Q4_K and Q6_K against int8 activations: the Java kernels and every level of the native
     * library this CPU runs, on the same inputs, against a double sum of the same integer products (and within the
     * activation rounding bound of the exact float product). Plain matrices and column panels, 1, 3 and 37 tokens: 37
     * is the native prefill's int8 matrix multiply (its 4-token tiles and a tail), held to the same reference as the
     * single-token row kernel, so the two agree within that tolerance; the Java tier's prefill is the float Gemm.
     */
    @Test
    void int8DotsMatchTheirReferenceInEveryTier() {
        int panelCols = 2 * ColumnPanels.PANEL_COLS + 256;
        try {
            for (DType dtype : new DType[] {DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K}) {
                for (int[] shape : new int[][] {{1, 32}, {3, 64}, {5, 96}, {9, 256}, {7, 1024}, {131, 512}, {3, 1280}, {5, panelCols}}) {
                    if (shape[1] % dtype.blockSize != 0) continue;
                    Case c = randomMatrix(dtype, shape[0], shape[1]);
                    Matrix m = shape[1] == panelCols ? ColumnPanels.of(c.matrix()) : c.matrix();
                    for (int tokens : new int[] {1, 3, Matrix.GEMM_MIN_TOKENS + 5}) checkInt8(c, m, tokens);
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
                    assertThat(Math.abs(xq - x[3 + t * xStride + j])).isLessThanOrEqualTo(qx.scales[block] * 0.50001); // x * (1 / d) rounds in float: up to 127 ulps of d
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
                    double got = out[2 + t * (rows + 1) + r], exact = 0, exactScale = 0;
                    for (int j = 0; j < cols; j++) {
                        exact += c.values()[r][j] * x[3 + t * xStride + j];
                        exactScale += Math.abs(c.values()[r][j] * x[3 + t * xStride + j]);
                    }
                    if (tier.equals("java") && tokens >= Matrix.GEMM_MIN_TOKENS) {
                        assertThat(got).as("java float prefill %s row %d", m.dtype(), r).isCloseTo(exact, org.assertj.core.data.Offset.offset(1e-5 * exactScale + 1e-30));
                        continue;
                    }
                    assertThat(got).as("%s %s [%dx%d] t=%d row %d", tier, m.dtype(), rows, cols, t, r).isCloseTo(ref[t][r], org.assertj.core.data.Offset.offset(1e-5 * scale[t][r] + 1e-30));
                    assertThat(Math.abs(got - exact)).as("%s %s rounding of the activations", tier, m.dtype()).isLessThanOrEqualTo(bound[t][r] * 1.0001 + 1e-5 * scale[t][r]);
                }
            }
        }
        if (Kernels.nativeAvailable() && !(m instanceof ColumnPanels)) {
            // every level this CPU runs, called directly (portable C is level 0), one token; Q4_0 and Q8_0 in their interleaved copy
            for (int level = 0; level <= Kernels.Native.BEST_LEVEL; level++) {
                float[] out = new float[rows];
                if (m.dtype() == DType.Q4_0 || m.dtype() == DType.Q8_0) {
                    Kernels.Native.x8(m.dtype() == DType.Q4_0 ? Kernels.Native.Q4_0X8_TOKENS : Kernels.Native.Q8_0X8_TOKENS, level,
                            ((Int8BlockMatrix) m).interleaved(), 0, rows, cols / 32, qx, 0, 1, out, 0, rows, false);
                } else {
                    MethodHandle kernel = m.dtype() == DType.Q4_K ? Kernels.Native.Q4_K_ROWS : Kernels.Native.Q6_K_ROWS;
                    Kernels.Native.rows(kernel, level, m.segment(), m.dtype().byteSize(cols), rows, cols / m.dtype().blockSize, qx, 0, out, 0, false);
                }
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

    /** Batched decode: each token of a small-batch matmul (four-token blocks plus the rest) equals its own dot, bit for bit, in both tiers. */
    @Test
    void smallBatchMatmulGivesEveryTokenItsOwnDotBitForBit() {
        try {
            smallBatchBitForBit(Kernels.Choice.JAVA);
            if (Kernels.nativeAvailable()) smallBatchBitForBit(Kernels.Choice.NATIVE);
        } finally {
            Kernels.choose(Kernels.Choice.AUTO);
        }
    }

    private void smallBatchBitForBit(Kernels.Choice tier) {
        Kernels.choose(tier);
        for (int[] shape : new int[][] {{9, 59}, {5, ColumnPanels.MAX_PLAIN_COLS + 4}}) { // pairs, a single vector and a tail; column panels
            Matrix plain = randomMatrix(DType.BF16, shape[0], shape[1]).matrix();
            Matrix m = ColumnPanels.splits(shape[1]) ? ColumnPanels.of(plain) : plain;
            int tokens = 6, rows = m.rows(), cols = m.cols();
            float[] x = new float[tokens * cols], out = new float[tokens * rows];
            for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
            // compiled kernels on both sides (see RowBlockDot on the interpreted fallback's lane order): C2 compiles in
            // the background, late on a loaded machine, so rounds of warm-up go on until it has (at most 20)
            int mismatches = -1;
            for (int round = 0; round < 20 && mismatches != 0; round++) {
                float sink = 0;
                for (int warm = 0; warm < 2000; warm++) m.matmul(x, out, tokens);
                for (int warm = 0; warm < 30000; warm++) sink += m.dot(warm % rows, x, (warm % tokens) * cols);
                assertThat(sink).isFinite();
                m.matmul(x, out, tokens);
                mismatches = 0;
                for (int t = 0; t < tokens; t++) {
                    for (int r = 0; r < rows; r++) if (Float.floatToRawIntBits(out[t * rows + r]) != Float.floatToRawIntBits(m.dot(r, x, t * cols))) mismatches++;
                }
            }
            assertThat(mismatches).as("(row, token) sums of %s differing from dot, %s tier", m, tier).isZero();
        }
    }
}
