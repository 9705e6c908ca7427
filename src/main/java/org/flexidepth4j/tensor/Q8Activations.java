package org.flexidepth4j.tensor;

import static org.flexidepth4j.tensor.QuantLanes.F8;
import static org.flexidepth4j.tensor.QuantLanes.I8;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Activations of one matmul quantized to blocks of {@value #BLOCK} int8 values with one float scale each, as
 * llama.cpp's q8_0 activations (its quantize_row_q8_0_ref: scale = max |x| / 127, values rounded half away from
 * zero; the scale is kept as a float, not fp16). Made once per matmul and read by every row's integer dot.
 */
final class Q8Activations {
    static final int BLOCK = 32;
    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;

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
        if (tokens == 1) q.quantizeToken(x, xOffset, 0);
        else Parallel.pool().forRange(tokens, Math.max(1, PARALLEL_MIN_VALUES / cols), (start, end) -> {
            for (int t = start; t < end; t++) q.quantizeToken(x, xOffset + t * xStride, t);
        });
        return q;
    }

    /**
     * Eight lanes at a time, the values of the scalar definition bit for bit: x * (1 / d) truncated to int, plus or
     * minus one where the exact float remainder is at least one half in size (round half away from zero).
     */
    private void quantizeToken(float[] x, int from, int token) {
        for (int b = 0; b < blocksPerToken; b++) {
            int src = from + b * BLOCK, block = token * blocksPerToken + b;
            FloatVector max = FloatVector.fromArray(F8, x, src).abs();
            for (int j = F8.length(); j < BLOCK; j += F8.length()) max = max.max(FloatVector.fromArray(F8, x, src + j).abs());
            float d = max.reduceLanes(VectorOperators.MAX) / 127f, id = d != 0 ? 1f / d : 0f;
            scales[block] = d;
            IntVector sum = IntVector.zero(I8);
            for (int j = 0; j < BLOCK; j += F8.length()) {
                FloatVector v = FloatVector.fromArray(F8, x, src + j).mul(id);
                IntVector whole = (IntVector) v.convert(VectorOperators.F2I, 0);
                // the remainder is exact, and twice it truncates to +-1 exactly from a half on
                FloatVector twiceRest = v.sub((FloatVector) whole.convert(VectorOperators.I2F, 0)).mul(2f);
                IntVector rounded = whole.add((IntVector) twiceRest.convert(VectorOperators.F2I, 0));
                ((ByteVector) rounded.convertShape(VectorOperators.I2B, B8, 0)).intoArray(quants, block * BLOCK + j);
                sum = sum.add(rounded);
            }
            int quantSum = sum.reduceLanes(VectorOperators.ADD);
            sums[block] = d * quantSum;
            quantSums[block] = quantSum;
        }
    }

    /** The first block of token t. */
    int firstBlock(int token) {
        return token * blocksPerToken;
    }
}
