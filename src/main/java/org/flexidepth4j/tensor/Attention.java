package org.flexidepth4j.tensor;

import java.util.Arrays;
import java.util.function.IntUnaryOperator;

/**
 * Causal grouped-query attention over blocks of queries, as {@link Gemm} products: scores = q·kᵀ, softmax per row
 * over the keys the row may see, out = p·v. Training's forward and backward and inference's multi-token forward
 * (prefill, scoring) all run through it; one-token decode keeps a per-query loop (a block of one query would pay
 * the key transpose for nothing).
 *
 * <p>Layouts: q and out are [rows, heads·hd]; v is [keys, kvHeads·hd]; kt holds each KV head's keys transposed,
 * kt[g·hd·ldk + d·ldk + s] = k[s, g·hd + d] (see {@link VectorOps#transpose}). Query row r sees keys 0..lastKey(r);
 * lastKey must not decrease with r.
 */
public final class Attention {
    /** Query rows per block: a block's [64, keys] probability rows stay in L2. */
    public static final int QUERY_BLOCK = 64;

    private Attention() {
    }

    /**
     * out[r, h] = Σ_{s≤lastKey(r)} softmax_s(q[r,h]·k[s,g]/√hd) v[s,g], g = h / (heads/kvHeads), for rows r < rows.
     * If lse is not null, each (r, h)'s log-sum-exp goes to lse[r·heads + h] (the backward recomputes p from it).
     * Parallel over (block, head) items in zigzag block order, so the two halves of the causal triangle weigh the same.
     */
    public static void forward(float[] q, float[] kt, int ldk, float[] v, float[] out, float[] lse, int rows,
                               IntUnaryOperator lastKey, int heads, int kvHeads, int hd) {
        forward(q, kt, ldk, v, out, lse, rows, lastKey, heads, kvHeads, hd, Scores.plain(hd));
    }

    /** {@link #forward} with the scores formed as {@code scores} says (scale, soft-cap, sliding window). */
    public static void forward(float[] q, float[] kt, int ldk, float[] v, float[] out, float[] lse, int rows,
                               IntUnaryOperator lastKey, int heads, int kvHeads, int hd, Scores scores) {
        int qd = heads * hd, kvd = kvHeads * hd, group = heads / kvHeads, blocks = (rows + QUERY_BLOCK - 1) / QUERY_BLOCK;
        Parallel.pool().forRange(blocks * heads, 1, (start, end) -> {
            float[] p = new float[QUERY_BLOCK * ldk];
            for (int item = start; item < end; item++) {
                int h = item % heads, zig = item / heads;
                int r0 = QUERY_BLOCK * (zig % 2 == 0 ? zig / 2 : blocks - 1 - zig / 2), m = Math.min(QUERY_BLOCK, rows - r0);
                int n = probabilities(q, kt, ldk, h, heads, group, hd, r0, m, lastKey, p, lse, false, scores);
                Gemm.multiply(m, hd, n, p, 0, ldk, v, (h / group) * hd, kvd, out, r0 * qd + h * hd, qd, false);
            }
        });
    }

    /**
     * p[i, s] = softmax over s ≤ lastKey(r0+i) of q[r0+i, h]·k[s]/√hd for the m query rows r0.. of head h, 0 for the
     * keys after lastKey(r0+i) up to the block's last key; row stride ldk. With {@code readLse} the log-sum-exp is
     * read from lse[r·heads + h] instead of computed (the backward); otherwise it is stored there if lse is not null.
     * Returns the number of keys of the block, lastKey(r0+m-1) + 1.
     */
    public static int probabilities(float[] q, float[] kt, int ldk, int h, int heads, int group, int hd, int r0, int m,
                                    IntUnaryOperator lastKey, float[] p, float[] lse, boolean readLse) {
        return probabilities(q, kt, ldk, h, heads, group, hd, r0, m, lastKey, p, lse, readLse, Scores.plain(hd));
    }

    /** {@link #probabilities} with the scores formed as {@code scores} says; keys before a row's window get 0. */
    public static int probabilities(float[] q, float[] kt, int ldk, int h, int heads, int group, int hd, int r0, int m,
                                    IntUnaryOperator lastKey, float[] p, float[] lse, boolean readLse, Scores scores) {
        int n = lastKey.applyAsInt(r0 + m - 1) + 1;
        Gemm.multiply(m, n, hd, q, r0 * heads * hd + h * hd, heads * hd, kt, (h / group) * hd * ldk, ldk, p, 0, ldk, false);
        for (int i = 0; i < m; i++) {
            int r = r0 + i, row = i * ldk, seen = lastKey.applyAsInt(r) + 1, first = scores.firstKey(seen - 1);
            float scale = scores.scaleCapping(p, row + first, seen - first);
            if (readLse) {
                VectorOps.expScaledShifted(p, row + first, seen - first, scale, lse[r * heads + h]);
            } else {
                float max = Float.NEGATIVE_INFINITY;
                for (int s = first; s < seen; s++) max = Math.max(max, p[row + s] * scale);
                VectorOps.expScaledShifted(p, row + first, seen - first, scale, max);
                double sum = 0;
                for (int s = first; s < seen; s++) sum += p[row + s];
                float inv = (float) (1 / sum);
                for (int s = first; s < seen; s++) p[row + s] *= inv;
                if (lse != null) lse[r * heads + h] = (float) (max + Math.log(sum));
            }
            Arrays.fill(p, row, row + first, 0f);
            Arrays.fill(p, row + seen, row + n, 0f);
        }
        return n;
    }

    /**
     * How a query's raw products q·k become scores: times {@code scale}, then soft-capped to cap·tanh(score / cap)
     * when {@code softCap} > 0 (Gemma 2), over the last {@code window} keys up to the query's last one (0: all keys).
     */
    public record Scores(float scale, float softCap, int window) {
        public static Scores plain(int hd) {
            return new Scores((float) (1.0 / Math.sqrt(hd)), 0, 0);
        }

        /** The first key a query whose last visible key is {@code lastKey} sees. */
        public int firstKey(int lastKey) {
            return window == 0 ? 0 : Math.max(0, lastKey - window + 1);
        }

        /** The score of one raw product. */
        public float score(float product) {
            float scaled = product * scale;
            return softCap == 0 ? scaled : softCap * (float) StrictMath.tanh(scaled / softCap);
        }

        /**
         * Prepares x[off, off + n) for a scaled exp: with a soft-cap the scores are computed in place and the factor
         * left to apply is 1; without one x is untouched and the factor is {@link #scale}.
         */
        public float scaleCapping(float[] x, int off, int n) {
            if (softCap == 0) return scale;
            for (int i = off; i < off + n; i++) x[i] = score(x[i]);
            return 1f;
        }
    }
}
