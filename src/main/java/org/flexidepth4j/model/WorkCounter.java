package org.flexidepth4j.model;

/**
 * Counts multiply-adds actually executed per layer, so tests and benchmarks can prove that skipped work was not
 * done and report measured FLOPs per token.
 */
public final class WorkCounter {
    private final long[] macs;

    public WorkCounter(int layers) {
        macs = new long[layers + 1];
    }

    /** Slot {@code layers} holds the LM head. */
    public void add(int layer, long multiplyAdds) {
        macs[layer] += multiplyAdds;
    }

    public long layer(int layer) {
        return macs[layer];
    }

    public long total() {
        long s = 0;
        for (long m : macs) s += m;
        return s;
    }

    public void reset() {
        java.util.Arrays.fill(macs, 0);
    }
}
