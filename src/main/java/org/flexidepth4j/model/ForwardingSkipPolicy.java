package org.flexidepth4j.model;

/** A policy that behaves exactly as {@code inner}; subclasses override the calls they want to watch. */
public abstract class ForwardingSkipPolicy implements SkipPolicy {
    protected final SkipPolicy inner;

    protected ForwardingSkipPolicy(SkipPolicy inner) {
        this.inner = inner;
    }

    @Override
    public Plan plan(int layer) {
        return inner.plan(layer);
    }

    @Override
    public void route(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
        inner.route(layer, normed, tokens, positions, run, gate, work);
    }

    @Override
    public void routeFeedForward(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
        inner.routeFeedForward(layer, normed, tokens, positions, run, gate, work);
    }

    @Override
    public boolean hasSkipPath(int layer) {
        return inner.hasSkipPath(layer);
    }

    @Override
    public void addSkipPath(int layer, float[] y, int n, float[] gates, int[] rowIndex, float[] residual, WorkCounter work) {
        inner.addSkipPath(layer, y, n, gates, rowIndex, residual, work);
    }

    @Override
    public void observeResidual(int layer, float[] residual, int tokens) {
        inner.observeResidual(layer, residual, tokens);
    }

    @Override
    public boolean isRouted(int layer) {
        return inner.isRouted(layer);
    }
}
