package org.flexidepth4j.skip;

import org.flexidepth4j.model.SkipPolicy;

/** Early exit without special training (a lower bound): the first {@code layersKept} layers run, the rest are REMOVED. */
public final class EarlyExit implements SkipPolicy {
    private final int layersKept;

    public EarlyExit(int layersKept, int numLayers) {
        if (layersKept < 1 || layersKept > numLayers) throw new IllegalArgumentException("exit:L needs 1 <= L <= " + numLayers + " layers, got " + layersKept);
        this.layersKept = layersKept;
    }

    @Override
    public Plan plan(int layer) {
        return layer < layersKept ? Plan.DENSE : Plan.REMOVED;
    }

    @Override
    public String toString() {
        return "early exit after " + layersKept + " layers";
    }
}
