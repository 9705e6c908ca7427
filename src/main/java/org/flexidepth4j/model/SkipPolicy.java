package org.flexidepth4j.model;

/**
 * The per-layer, per-token decision of how much of a layer a token gets. The layer asks the policy once per forward
 * call whether it runs for everyone, is routed per token, or is removed; for routed layers the policy fills the run
 * flags and gates of each row and may add a cheap skip path (FlexiDepth's adapter). One layer implementation
 * ({@link Transformer}) serves every policy: FlexiDepth, static removal, random skipping, early exit, dense.
 */
public interface SkipPolicy {
    enum Plan {
        /** every token runs the full layer, gate 1 */
        DENSE,
        /** {@link #route} decides per token; K/V are still computed for every token */
        ROUTED,
        /** nobody runs the layer, not even K/V (no later token can attend to it) */
        REMOVED
    }

    SkipPolicy NONE = layer -> Plan.DENSE;

    Plan plan(int layer);

    /**
     * For a ROUTED layer: decide each of {@code tokens} rows. {@code normed} holds the layer's attention-norm output
     * [tokens, d]. Sets run[t]; gate[t] scales the FFN of a run token and (1 - gate) the skip path of a skipped one.
     * The router's own multiply-adds go into {@code work}.
     */
    default void route(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
        throw new UnsupportedOperationException("policy does not route layer " + layer);
    }

    /**
     * For a ROUTED layer, after the attention residual add: the FFN's own decision (per-module routing).
     * {@code normed} holds post_attention_layernorm(h + attention) [tokens, d] (h alone for rows that skipped the
     * attention); run/gate arrive holding the attention's decision and leave holding the FFN's, which also selects
     * the rows given {@link #addSkipPath}. Default: the FFN follows the attention's decision.
     */
    default void routeFeedForward(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
    }

    /** Whether skipped tokens of this layer get {@link #addSkipPath}. */
    default boolean hasSkipPath(int layer) {
        return false;
    }

    /**
     * Adds the skip-path contribution of {@code n} skipped rows into {@code residual}: y holds their
     * post-attention-norm rows [n, d], gates their gates, rowIndex their rows in residual.
     */
    default void addSkipPath(int layer, float[] y, int n, float[] gates, int[] rowIndex, float[] residual, WorkCounter work) {
    }

    /**
     * Sees the residual stream [tokens, d] entering layer {@code layer}, and with layer = numLayers the stream
     * leaving the last layer (used to measure Block Influence); must not modify it.
     */
    default void observeResidual(int layer, float[] residual, int tokens) {
    }

    /** Layers ROUTED in some forward calls (for traces; -1 gates elsewhere). */
    default boolean isRouted(int layer) {
        return plan(layer) == Plan.ROUTED;
    }
}
