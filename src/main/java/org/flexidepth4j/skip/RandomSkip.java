package org.flexidepth4j.skip;

import java.util.Arrays;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.WorkCounter;

/**
 * The control arm: each token skips each routed layer with probability p, by a seeded draw per (layer, position)
 * (the same in batch and token-by-token runs). Skipped tokens still get K/V; there is no adapter. Gates read 1
 * (run) or 0 (skip).
 */
public final class RandomSkip implements SkipPolicy {
    private final boolean[] routed;
    private final double skipRate;
    private final long seed;

    public RandomSkip(boolean[] routed, double skipRate, long seed) {
        if (!(skipRate >= 0 && skipRate <= 1)) throw new IllegalArgumentException("random:P needs 0 <= P <= 1, got " + skipRate);
        this.routed = routed.clone();
        this.skipRate = skipRate;
        this.seed = seed;
    }

    /** Random skipping on the given layers of a {@code numLayers}-layer model. */
    public static RandomSkip onLayers(int numLayers, int[] layers, double skipRate, long seed) {
        boolean[] routed = new boolean[numLayers];
        for (int l : layers) routed[l] = true;
        return new RandomSkip(routed, skipRate, seed);
    }

    @Override
    public Plan plan(int layer) {
        return routed[layer] ? Plan.ROUTED : Plan.DENSE;
    }

    @Override
    public void route(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
        for (int t = 0; t < tokens; t++) {
            run[t] = TokenDraw.uniform(seed, layer, positions[t]) >= skipRate;
            gate[t] = run[t] ? 1f : 0f;
        }
    }

    @Override
    public String toString() {
        return "random skipping at rate " + skipRate + " on " + Arrays.toString(java.util.stream.IntStream.range(0, routed.length).filter(l -> routed[l]).toArray());
    }
}
