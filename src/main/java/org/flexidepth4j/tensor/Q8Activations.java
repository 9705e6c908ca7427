package org.flexidepth4j.tensor;

/**
 * Activations of one matmul quantized to blocks of {@value #BLOCK} int8 values with one float scale each, as
 * llama.cpp's q8_0 activations (its quantize_row_q8_0_ref: scale = max |x| / 127, values rounded half away from
 * zero; the scale is kept as a float, not fp16). Made once per matmul and read by every row's integer dot.
 */
final class Q8Activations {
    static final int BLOCK = 32;

    /** tokens x cols values, token t's block b at (t * blocksPerToken + b) * BLOCK. */
    final byte[] quants;
    /** tokens x blocksPerToken scales. */
    final float[] scales;
    /** Each block's scale times the sum of its quants (the K-quants' offsets multiply it). */
    final float[] sums;
    /** Each block's sum of its quants (the interleaved Q4_0 kernel subtracts 8 times it: its nibbles stay unsigned). */
    final int[] quantSums;
    final int blocksPerToken;

    private Q8Activations(int tokens, int cols) {
        blocksPerToken = cols / BLOCK;
        quants = new byte[tokens * cols];
        scales = new float[tokens * blocksPerToken];
        sums = new float[tokens * blocksPerToken];
        quantSums = new int[tokens * blocksPerToken];
    }

    /** Row t of x starts at xOffset + t * xStride; cols is a multiple of {@value #BLOCK}. */
    static Q8Activations quantize(float[] x, int xOffset, int xStride, int cols, int tokens) {
        Q8Activations q = new Q8Activations(tokens, cols);
        for (int t = 0; t < tokens; t++) {
            for (int b = 0; b < q.blocksPerToken; b++) {
                int src = xOffset + t * xStride + b * BLOCK, block = t * q.blocksPerToken + b;
                float amax = 0;
                for (int j = 0; j < BLOCK; j++) amax = Math.max(amax, Math.abs(x[src + j]));
                float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
                q.scales[block] = d;
                int sum = 0;
                for (int j = 0; j < BLOCK; j++) {
                    int v = Quantizer.roundHalfAway(x[src + j] * id);
                    q.quants[block * BLOCK + j] = (byte) v;
                    sum += v;
                }
                q.sums[block] = d * sum;
                q.quantSums[block] = sum;
            }
        }
        return q;
    }

    /** The first block of token t. */
    int firstBlock(int token) {
        return token * blocksPerToken;
    }
}
