package org.flexidepth4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Batched decode (2-16 tokens, one per sequence): every token's outputs of a small-batch matmul are bit for bit the
 * ones the same matmul gives that token alone, in every kernel mode `--kernels` and `--activations` select, so a
 * request's greedy output does not depend on who else is served. Row counts that are not a multiple of four, token
 * counts that leave partial blocks of tokens, plain matrices and column panels.
 */
class SmallBatchDecodeTest {
    private static final int[] TOKEN_COUNTS = {2, 5, 11, 16};
    private final Random random = new Random(7);

    @AfterEach
    void defaults() {
        Kernels.choose(Kernels.Choice.AUTO);
        Kernels.setActivations(Kernels.Activations.Q8);
    }

    @Test
    void q8_0RowsGiveEachTokenItsSingleTokenSumsInEveryMode() {
        assertEveryModeBitForBit(DType.Q8_0);
    }

    @Test
    void q4_0RowsGiveEachTokenItsSingleTokenSumsInEveryMode() {
        assertEveryModeBitForBit(DType.Q4_0);
    }

    @Test
    void bf16RowsGiveEachTokenItsSingleTokenSums() {
        assertEveryModeBitForBit(DType.BF16);
    }

    /**
     * Interleaved Q4_0 and Q8_0 at every level: 2-37 tokens in one call (batched decode and the prefill's token count)
     * against each token alone, over row ranges that start and end inside a group of 8 (as the pool's 4-row split can),
     * so no sum depends on the tokens or rows computed beside it.
     */
    @Test
    void interleavedKernelsGiveEachTokenItsSingleTokenSumsAtEveryLevel() {
        if (!Kernels.nativeAvailable()) return;
        int rows = 37, cols = 2048 + 96, blocks = cols / 32;
        for (DType dtype : new DType[] {DType.Q4_0, DType.Q8_0}) {
            Int8BlockMatrix m = (Int8BlockMatrix) new KernelTest().randomMatrix(dtype, rows, cols).matrix();
            MethodHandle kernel = dtype == DType.Q4_0 ? Kernels.Native.Q4_0X8_TOKENS : Kernels.Native.Q8_0X8_TOKENS;
            for (int tokens : new int[] {2, 7, Matrix.GEMM_MIN_TOKENS + 5}) {
                Q8Activations qx = Q8Activations.quantize(gaussian(tokens * cols), 0, cols, cols, tokens);
                for (int level = 0; level <= Kernels.Native.BEST_LEVEL; level++) {
                    for (boolean add : new boolean[] {false, true}) {
                        float[] batched = gaussian(tokens * rows), alone = batched.clone();
                        for (int[] range : new int[][] {{0, 12}, {12, 20}, {20, rows}}) {
                            Kernels.Native.x8(kernel, level, m.interleaved(), range[0], range[1], blocks, qx, 0, tokens, batched, 0, rows, add);
                        }
                        for (int t = 0; t < tokens; t++) {
                            Kernels.Native.x8(kernel, level, m.interleaved(), 0, rows, blocks, qx, qx.firstBlock(t), 1, alone, t * rows, rows, add);
                        }
                        assertThat(Arrays.mismatch(bits(batched), bits(alone)))
                                .as("first differing sum, %s, %d tokens, level %d add %s", dtype, tokens, level, add).isEqualTo(-1);
                    }
                }
            }
        }
    }

    /**
     * The native BF16 kernel at every level this CPU runs: a few tokens (batched decode) and more than
     * {@link Matrix#GEMM_MIN_TOKENS} (prefill) give each token its one-token sums bit for bit, added or stored, and
     * those are the double sums within float rounding.
     */
    @Test
    void nativeBf16GivesEveryTokenCountTheOneTokenSumsAtEveryLevel() {
        if (!Kernels.nativeAvailable()) return;
        int rows = 37, cols = 2048 + 96 + 5;
        KernelTest.Case c = new KernelTest().randomMatrix(DType.BF16, rows, cols);
        for (int tokens : new int[] {6, Matrix.GEMM_MIN_TOKENS + 7}) {
            float[] x = gaussian(tokens * cols);
            for (int level = 0; level <= Kernels.Native.BEST_LEVEL; level++) {
                for (boolean add : new boolean[] {false, true}) {
                    float[] batched = gaussian(tokens * rows), alone = batched.clone(), start = batched.clone();
                    Kernels.Native.bf16(level, c.matrix().segment(), rows, cols, x, 0, cols, tokens, batched, 0, rows, add);
                    for (int t = 0; t < tokens; t++) Kernels.Native.bf16(level, c.matrix().segment(), rows, cols, x, t * cols, cols, 1, alone, t * rows, rows, add);
                    assertThat(Arrays.mismatch(bits(batched), bits(alone))).as("first differing sum, %d tokens, level %d, add %s", tokens, level, add).isEqualTo(-1);
                    for (int t = 0; t < tokens; t++) {
                        for (int r = 0; r < rows; r++) {
                            double want = add ? start[t * rows + r] : 0, scale = Math.abs(want);
                            for (int j = 0; j < cols; j++) {
                                want += c.values()[r][j] * x[t * cols + j];
                                scale += Math.abs(c.values()[r][j] * x[t * cols + j]);
                            }
                            assertThat((double) batched[t * rows + r]).as("level %d t %d row %d", level, t, r).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-5 * scale));
                        }
                    }
                }
            }
        }
    }

    private void assertEveryModeBitForBit(DType dtype) {
        List<String> modes = new ArrayList<>(List.of("java, q8", "f32"));
        if (Kernels.nativeAvailable()) modes.add("native, q8");
        Matrix small = new KernelTest().randomMatrix(dtype, 6, 256).matrix();
        int panelCols = 2 * ColumnPanels.PANEL_COLS + 64;
        for (int[] shape : new int[][] {{13, 352}, {5, panelCols}}) {
            Matrix plain = new KernelTest().randomMatrix(dtype, shape[0], shape[1]).matrix();
            Matrix m = ColumnPanels.splits(shape[1]) ? ColumnPanels.of(plain) : plain;
            for (String mode : modes) {
                Kernels.choose(mode.startsWith("native") ? Kernels.Choice.NATIVE : Kernels.Choice.JAVA);
                Kernels.setActivations(mode.endsWith("q8") ? Kernels.Activations.Q8 : Kernels.Activations.F32);
                for (int tokens : TOKEN_COUNTS) assertTokensBitForBit(m, small, tokens, dtype + " " + mode + " [" + shape[0] + "x" + shape[1] + "]");
            }
        }
    }

    /**
     * The batched matmul of strided inputs against one matmul per token. The Java kernels are compared once C2 has
     * compiled them (the Vector API's interpreted fallback reduces lanes in another order, RowBlockDot): rounds of
     * warm-up on a small matrix of the same dtype go on until it has, at most 20.
     */
    private void assertTokensBitForBit(Matrix m, Matrix small, int tokens, String what) {
        int rows = m.rows(), cols = m.cols(), xStride = cols + 5, outStride = rows + 3;
        float[] x = gaussian(1 + tokens * xStride);
        float[] batched = new float[2 + tokens * outStride], alone = new float[rows], warmOut = new float[tokens * small.rows()];
        int mismatches = -1;
        for (int round = 0; round < 20 && mismatches != 0; round++) {
            for (int warm = 0; warm < (round == 0 ? 0 : 2000); warm++) {
                small.matmul(x, 1, xStride, warmOut, 0, small.rows(), tokens);
                small.matmul(x, 1 + warm % tokens * xStride, xStride, warmOut, 0, small.rows(), 1);
            }
            m.matmul(x, 1, xStride, batched, 2, outStride, tokens);
            mismatches = 0;
            for (int t = 0; t < tokens; t++) {
                m.matmul(x, 1 + t * xStride, xStride, alone, 0, rows, 1);
                for (int r = 0; r < rows; r++) {
                    if (Float.floatToRawIntBits(batched[2 + t * outStride + r]) != Float.floatToRawIntBits(alone[r])) mismatches++;
                }
            }
        }
        assertThat(mismatches).as("(row, token) sums of %s, %d tokens, differing from the token alone", what, tokens).isZero();
    }

    private float[] gaussian(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextGaussian();
        return v;
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
        return b;
    }
}
