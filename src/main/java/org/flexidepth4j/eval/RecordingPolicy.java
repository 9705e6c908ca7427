package org.flexidepth4j.eval;

import org.flexidepth4j.model.ForwardingSkipPolicy;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.WorkCounter;

/** Wraps a policy and remembers, for the last forward call, which rows ran each layer (any of its modules). */
final class RecordingPolicy extends ForwardingSkipPolicy {
    private final boolean[][] ran;
    private int rows;

    RecordingPolicy(SkipPolicy inner, int layers, int maxRows) {
        super(inner);
        this.ran = new boolean[layers][maxRows];
    }

    /** Call before each forward with its row count. */
    void expect(int rows) {
        this.rows = rows;
    }

    boolean ran(int layer, int row) {
        return ran[layer][row];
    }

    @Override
    public Plan plan(int layer) {
        Plan p = inner.plan(layer);
        java.util.Arrays.fill(ran[layer], 0, rows, p != Plan.REMOVED);
        return p;
    }

    @Override
    public void route(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
        inner.route(layer, normed, tokens, positions, run, gate, work);
        System.arraycopy(run, 0, ran[layer], 0, tokens);
    }

    /** Per-module routing: a row ran the layer if it ran the attention or the FFN (as InferenceState.layersUsed). */
    @Override
    public void routeFeedForward(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
        inner.routeFeedForward(layer, normed, tokens, positions, run, gate, work);
        for (int t = 0; t < tokens; t++) ran[layer][t] |= run[t];
    }
}
