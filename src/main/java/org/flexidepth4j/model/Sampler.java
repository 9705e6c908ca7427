package org.flexidepth4j.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: greedy (temperature 0, lowest id on ties) or seeded sampling with
 * repetition penalty, temperature, min-p, top-k and top-p, applied in that order (top-p on the probabilities
 * renormalised over what min-p and top-k kept). Buffers are allocated once per sampler, none per token.
 */
public final class Sampler {
    /**
     * @param temperature       0 for greedy
     * @param topK              keep the k most likely tokens; 0 keeps all
     * @param topP              keep the smallest most-likely set whose probability reaches p; 1 keeps all
     * @param minP              keep tokens at least minP times as likely as the most likely one; 0 keeps all
     * @param repetitionPenalty HF/CTRL penalty on tokens already in the sequence: positive logits divided by it,
     *                          negative ones multiplied; 1 disables it
     */
    public record Settings(float temperature, int topK, float topP, float minP, float repetitionPenalty, long seed) {
        public static final Settings GREEDY = new Settings(0f, 0, 1f, 0f, 1f, 0L);

        public Settings {
            if (!(temperature >= 0) || Float.isInfinite(temperature)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
            if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
            if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
            if (!(minP >= 0 && minP <= 1)) throw new IllegalArgumentException("min-p must be in [0, 1], got " + minP);
            if (!(repetitionPenalty > 0) || Float.isInfinite(repetitionPenalty)) throw new IllegalArgumentException("repetition penalty must be > 0, got " + repetitionPenalty);
        }
    }

    private final Settings settings;
    private final int vocab;
    private final float[] work;
    /** Candidates packed as (probability bits << 32 | 0x7fffffff - id): ascending order = ascending probability, then descending id. */
    private final long[] candidates;
    private final int[] seenEpoch;
    private int epoch;
    private final SplittableRandom random;

    public Sampler(Settings settings, int vocab) {
        this.settings = settings;
        this.vocab = vocab;
        this.work = new float[vocab];
        this.candidates = new long[vocab];
        this.seenEpoch = new int[vocab];
        this.random = new SplittableRandom(settings.seed());
    }

    public Settings settings() {
        return settings;
    }

    /** The next token from logits[offset .. offset+vocab), given the ids of the sequence so far. */
    public int sample(float[] logits, int offset, int[] history, int historyLength) {
        float[] x = work;
        System.arraycopy(logits, offset, x, 0, vocab);
        if (settings.repetitionPenalty() != 1f) penalize(x, history, historyLength);
        int best = argmax(x);
        if (settings.temperature() == 0f) return best;

        // Unnormalised probabilities relative to the best token (whose value is 1), so min-p is a plain threshold.
        float invT = 1f / settings.temperature();
        float max = x[best];
        float minP = settings.minP();
        int n = 0;
        for (int i = 0; i < vocab; i++) {
            float p = (float) Math.exp((x[i] - max) * invT);
            if (p >= minP && p > 0f) candidates[n++] = pack(p, i);
        }
        if (settings.topK() == 0 && settings.topP() >= 1f) return draw(n);

        Arrays.sort(candidates, 0, n);
        int kept = settings.topK() == 0 ? n : Math.min(n, settings.topK());
        if (settings.topP() < 1f) {
            double total = 0;
            for (int r = 0; r < kept; r++) total += probability(candidates[n - 1 - r]);
            double target = settings.topP() * total, cumulative = 0;
            int r = 0;
            while (r < kept) {
                cumulative += probability(candidates[n - 1 - r++]);
                if (cumulative >= target) break;
            }
            kept = r;
        }
        // Most likely first, so the kept candidates are the first `kept`.
        for (int i = 0, j = n - 1; i < j; i++, j--) {
            long a = candidates[i];
            candidates[i] = candidates[j];
            candidates[j] = a;
        }
        return draw(kept);
    }

    /** A draw from the first n candidates in proportion to their probabilities. */
    private int draw(int n) {
        double total = 0;
        for (int i = 0; i < n; i++) total += probability(candidates[i]);
        double u = random.nextDouble() * total, cumulative = 0;
        for (int i = 0; i < n; i++) {
            cumulative += probability(candidates[i]);
            if (u < cumulative) return id(candidates[i]);
        }
        return id(candidates[n - 1]);
    }

    private void penalize(float[] x, int[] history, int length) {
        if (++epoch == 0) {
            Arrays.fill(seenEpoch, 0);
            epoch = 1;
        }
        float r = settings.repetitionPenalty();
        for (int i = 0; i < length; i++) {
            int id = history[i];
            if (id < 0 || id >= vocab || seenEpoch[id] == epoch) continue;
            seenEpoch[id] = epoch;
            x[id] = x[id] > 0 ? x[id] / r : x[id] * r;
        }
    }

    /** Index of the largest value, the lowest one on ties. */
    private int argmax(float[] x) {
        int best = 0;
        for (int i = 0; i < vocab; i++) {
            if (Float.isNaN(x[i])) throw new IllegalArgumentException("the model produced a NaN logit (token " + i + ")");
            if (x[i] > x[best]) best = i;
        }
        return best;
    }

    private static long pack(float p, int id) {
        return ((long) Float.floatToRawIntBits(p) << 32) | (0x7fffffffL - id);
    }

    private static float probability(long candidate) {
        return Float.intBitsToFloat((int) (candidate >>> 32));
    }

    private static int id(long candidate) {
        return (int) (0x7fffffffL - (candidate & 0xffffffffL));
    }
}
