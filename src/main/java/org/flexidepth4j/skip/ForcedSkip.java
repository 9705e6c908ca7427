package org.flexidepth4j.skip;

import org.flexidepth4j.model.ForwardingSkipPolicy;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.WorkCounter;

/**
 * For benchmarks: any policy, still computing its routers and skip paths, but each (routed layer, token position)
 * skipped with probability {@code skipRate} by a seeded draw instead of the policy's decision, so the skip rate is
 * known. Per-module routing gets the same draw for the FFN, so a token skips or runs its whole layer.
 */
public final class ForcedSkip extends ForwardingSkipPolicy {
    private final double skipRate;
    private final long seed;

    public ForcedSkip(SkipPolicy inner, double skipRate, long seed) {
        super(inner);
        if (!(skipRate >= 0 && skipRate <= 1)) throw new IllegalArgumentException("skip rate " + skipRate + " is outside [0, 1]");
        this.skipRate = skipRate;
        this.seed = seed;
    }

    @Override
    public void route(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
        inner.route(layer, normed, tokens, positions, run, gate, work);
        draw(layer, tokens, positions, run);
    }

    @Override
    public void routeFeedForward(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
        inner.routeFeedForward(layer, normed, tokens, positions, run, gate, work);
        draw(layer, tokens, positions, run);
    }

    private void draw(int layer, int tokens, int[] positions, boolean[] run) {
        for (int t = 0; t < tokens; t++) run[t] = TokenDraw.uniform(seed, layer, positions[t]) >= skipRate;
    }
}
