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

    /** Values per pool task below which the tokens are quantized on the calling thread (a prefill's are split over the pool). */
    private static final int PARALLEL_MIN_VALUES = 1 << 16;

    /** Row t of x starts at xOffset + t * xStride; cols is a multiple of {@value #BLOCK}. */
    static Q8Activations quantize(float[] x, int xOffset, int xStride, int cols, int tokens) {
        Q8Activations q = new Q8Activations(tokens, cols);
        Parallel.pool().forRange(tokens, Math.max(1, PARALLEL_MIN_VALUES / cols), (start, end) -> {
            for (int t = start; t < end; t++) q.quantizeToken(x, xOffset + t * xStride, t);
        });
        return q;
    }

    private void quantizeToken(float[] x, int from, int token) {
        for (int b = 0; b < blocksPerToken; b++) {
            int src = from + b * BLOCK, block = token * blocksPerToken + b;
            float amax = 0;
            for (int j = 0; j < BLOCK; j++) amax = Math.max(amax, Math.abs(x[src + j]));
            float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
            scales[block] = d;
            int sum = 0;
            for (int j = 0; j < BLOCK; j++) {
                int v = Quantizer.roundHalfAway(x[src + j] * id);
                quants[block * BLOCK + j] = (byte) v;
                sum += v;
            }
            sums[block] = d * sum;
            quantSums[block] = sum;
        }
    }

    /** The first block of token t. */
    int firstBlock(int token) {
        return token * blocksPerToken;
    }
}
