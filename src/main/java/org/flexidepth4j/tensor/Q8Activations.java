package org.flexidepth4j.tensor;

import static org.flexidepth4j.tensor.QuantLanes.F8;
import static org.flexidepth4j.tensor.QuantLanes.I8;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

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

    /**
     * One token's blocks, 8 lanes at a time: x / d rounded half away from zero exactly as {@link Quantizer#roundHalfAway}
     * (the truncated magnitude, plus one where the exact remainder is at least a half), so the quants are the scalar
     * reference's bits.
     */
    private void quantizeToken(float[] x, int from, int token) {
        for (int b = 0; b < blocksPerToken; b++) {
            int src = from + b * BLOCK, block = token * blocksPerToken + b;
            FloatVector v0 = FloatVector.fromArray(F8, x, src), v1 = FloatVector.fromArray(F8, x, src + 8);
            FloatVector v2 = FloatVector.fromArray(F8, x, src + 16), v3 = FloatVector.fromArray(F8, x, src + 24);
            float amax = v0.abs().max(v1.abs()).max(v2.abs().max(v3.abs())).reduceLanes(VectorOperators.MAX);
            float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
            scales[block] = d;
            IntVector sum = IntVector.zero(I8);
            for (int i = 0; i < BLOCK; i += 8) {
                FloatVector scaled = FloatVector.fromArray(F8, x, src + i).mul(id), magnitude = scaled.abs();
                IntVector truncated = (IntVector) magnitude.convert(VectorOperators.F2I, 0);
                FloatVector remainder = magnitude.sub((FloatVector) truncated.convert(VectorOperators.I2F, 0));
                IntVector rounded = truncated.add(1, remainder.compare(VectorOperators.GE, 0.5f).cast(I8))
                        .lanewise(VectorOperators.NEG, scaled.compare(VectorOperators.LT, 0f).cast(I8));
                rounded.convertShape(VectorOperators.I2B, ByteVector.SPECIES_64, 0).reinterpretAsBytes().intoArray(quants, block * BLOCK + i);
                sum = sum.add(rounded);
            }
            int total = sum.reduceLanes(VectorOperators.ADD);
            sums[block] = d * total;
            quantSums[block] = total;
        }
    }

    /** The first block of token t. */
    int firstBlock(int token) {
        return token * blocksPerToken;
    }
}
