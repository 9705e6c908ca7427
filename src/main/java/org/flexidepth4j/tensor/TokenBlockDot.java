package org.flexidepth4j.tensor;

/**
 * A dtype whose small-batch matmul reads each weight row once for {@value #TOKENS} tokens: the row is dequantized in
 * registers once and multiplied with every token's input. Batched decode (several sequences, one token each) is
 * bound by that dequantization, not by the FMAs, once the row is in L1; a {@link Matrix#dot} per token repeats it.
 * {@link Matrix#matmulRows} calls it for whole blocks of tokens and {@link Matrix#dot} for the rest.
 */
interface TokenBlockDot {
    int TOKENS = 4;

    /**
     * out[outOffset + t * outStride] = dot(row, x, xOffset + t * xStride) for t in [0, {@value #TOKENS}), added to out
     * when {@code add}; each token summed in {@link Matrix#dot}'s order, so a token's result does not depend on the
     * others in its block (in compiled code: see {@link RowBlockDot} on the interpreted fallback).
     */
    void dotTokens(int row, float[] x, int xOffset, int xStride, float[] out, int outOffset, int outStride, boolean add);
}
