package org.flexidepth4j.tensor;

/**
 * A dtype whose small-batch matmul reads each weight row once for {@value #TOKENS} tokens: the row is dequantized in
 * registers once and multiplied with every token's input. Batched decode (several sequences, one token each) is
 * bound by that dequantization, not by the FMAs, once the row is in L1; a {@link Matrix#dot} per token repeats it.
 * {@link Matrix#matmulRows} calls it for two or more tokens ({@link #rows}).
 */
interface TokenBlockDot {
    int TOKENS = 4;

    /**
     * out[outOffset + t * outStride] = dot(row, x, xOffset + t * xStride) for t in [0, tokens), 2 <= tokens <=
     * {@value #TOKENS}, added to out when {@code add}; each token summed in {@link Matrix#dot}'s order, so a token's
     * result does not depend on the others in its block (in compiled code: see {@link RowBlockDot} on the interpreted
     * fallback).
     */
    void dotTokens(int row, int tokens, float[] x, int xOffset, int xStride, float[] out, int outOffset, int outStride, boolean add);

    /**
     * out[outOffset + t * outStride + r] (+= when {@code add}) = the dot of row r with token t, for rows [rowStart,
     * rowEnd) and tokens [0, tokens), tokens >= 2: blocks of {@value #TOKENS}, then the two or three left in one
     * block, or {@code dot} for the one left.
     */
    static void rows(Matrix m, TokenBlockDot block, float[] x, int xOffset, int xStride, int tokens,
                     float[] out, int outOffset, int outStride, int rowStart, int rowEnd, boolean add) {
        for (int r = rowStart; r < rowEnd; r++) {
            int t = 0;
            for (; t + 2 <= tokens; t += TOKENS) {
                block.dotTokens(r, Math.min(TOKENS, tokens - t), x, xOffset + t * xStride, xStride, out, outOffset + t * outStride + r, outStride, add);
            }
            if (t + 1 == tokens) RowBlockDot.store(out, outOffset + t * outStride + r, add, m.dot(r, x, xOffset + t * xStride));
        }
    }
}
