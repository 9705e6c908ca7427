package org.flexidepth4j.model;

/**
 * How a decoder departs from the Llama layer: Gemma's embedding scale, GELU-tanh FFN, sandwich norms, soft-capped
 * attention and final logits and its own attention scale; sliding-window layers (Mistral, Gemma) and the RoPE of
 * those layers when it differs from the global one (Gemma 3). {@link #LLAMA} changes nothing.
 *
 * @param scaledEmbedding         embeddings are multiplied by sqrt(hidden size) (Gemma)
 * @param activation              the gated FFN's activation
 * @param sandwichNorms           the attention and FFN outputs are RMS-normed before the residual add
 *                                ({@link LayerWeights.PostNorms})
 * @param queryPreAttentionScalar attention scores are q·k / sqrt(this); 0: the head dimension
 * @param attentionSoftCap        scores become cap·tanh(score / cap) before the softmax; 0: none
 * @param finalSoftCap            logits become cap·tanh(logit / cap); 0: none
 * @param slidingWindow           a sliding layer attends to the last this-many positions (itself included); 0: none
 * @param globalEvery             with a window, layer l attends to every position when (l + 1) % globalEvery == 0;
 *                                0: every layer slides (Mistral)
 * @param slidingRope             the RoPE of sliding layers when it differs from the config's (Gemma 3's local
 *                                base); null: the same
 */
public record DecoderVariant(boolean scaledEmbedding, Activation activation, boolean sandwichNorms, double queryPreAttentionScalar,
                             float attentionSoftCap, float finalSoftCap, int slidingWindow, int globalEvery, RopeConfig slidingRope) {
    public static final DecoderVariant LLAMA = new DecoderVariant(false, Activation.SILU, false, 0, 0, 0, 0, 0, null);

    /** The gated FFN's activation: act(gate) · up. */
    public enum Activation { SILU, GELU_TANH }

    public DecoderVariant {
        if (activation == null) throw new IllegalArgumentException("no FFN activation");
        if (queryPreAttentionScalar < 0 || !Double.isFinite(queryPreAttentionScalar)) {
            throw new IllegalArgumentException("query_pre_attn_scalar must be a finite number > 0, got " + queryPreAttentionScalar);
        }
        requireCap("attention logit soft-capping", attentionSoftCap);
        requireCap("final logit soft-capping", finalSoftCap);
        if (slidingWindow < 0) throw new IllegalArgumentException("sliding_window must be >= 0, got " + slidingWindow);
        if (globalEvery < 0) throw new IllegalArgumentException("the sliding-window layer pattern must be >= 0, got " + globalEvery);
    }

    private static void requireCap(String what, float cap) {
        if (!(cap >= 0) || Float.isInfinite(cap)) throw new IllegalArgumentException(what + " must be a finite number >= 0, got " + cap);
    }

    /** Whether layer {@code layer} attends over a sliding window rather than the whole sequence. */
    public boolean slides(int layer) {
        return slidingWindow > 0 && (globalEvery == 0 || (layer + 1) % globalEvery != 0);
    }

    /** The factor on q·k before the soft-cap and softmax. */
    public float attentionScale(int headDim) {
        return (float) (1.0 / Math.sqrt(queryPreAttentionScalar == 0 ? headDim : queryPreAttentionScalar));
    }

    /** The first position a query at {@code position} of layer {@code layer} sees. */
    public int firstVisible(int layer, int position) {
        return slides(layer) ? Math.max(0, position - slidingWindow + 1) : 0;
    }

    public DecoderVariant withSlidingWindow(int window, int everyGlobal) {
        return new DecoderVariant(scaledEmbedding, activation, sandwichNorms, queryPreAttentionScalar, attentionSoftCap, finalSoftCap,
                window, everyGlobal, slidingRope);
    }
}
