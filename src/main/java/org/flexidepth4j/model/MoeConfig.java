package org.flexidepth4j.model;

/**
 * A mixture-of-experts feed-forward (Mixtral, OLMoE, Qwen2-MoE, Qwen3-MoE): a router of {@code experts} logits per
 * token, a softmax over all of them, the {@code expertsPerToken} largest probabilities chosen, each chosen expert's
 * SwiGLU output weighted by its probability (renormalised over the chosen ones when {@code normalizeTopK}: Mixtral,
 * Qwen3-MoE), plus, where {@code sharedIntermediateSize} > 0, a shared SwiGLU expert every token runs, weighted by
 * the sigmoid of its own one-row router (Qwen2-MoE).
 */
public record MoeConfig(int experts, int expertsPerToken, int expertIntermediateSize, boolean normalizeTopK, int sharedIntermediateSize) {
    /** Most experts a layer may have: the router's logits and the per-expert views are sized by it at load. */
    public static final int MAX_EXPERTS = 4096;

    public MoeConfig {
        if (experts < 1 || experts > MAX_EXPERTS) throw new IllegalArgumentException("expert count " + experts + " is outside 1.." + MAX_EXPERTS);
        if (expertsPerToken < 1 || expertsPerToken > experts) {
            throw new IllegalArgumentException("experts per token " + expertsPerToken + " is outside 1.." + experts + " (the expert count)");
        }
        if (expertIntermediateSize <= 0) throw new IllegalArgumentException("expert intermediate size " + expertIntermediateSize + " must be > 0");
        if (sharedIntermediateSize < 0) throw new IllegalArgumentException("shared expert intermediate size " + sharedIntermediateSize + " must be >= 0");
    }

    public boolean hasSharedExpert() {
        return sharedIntermediateSize > 0;
    }

    /** The widest FFN activation a token needs: one expert's or the shared expert's. */
    public int widestIntermediate() {
        return Math.max(expertIntermediateSize, sharedIntermediateSize);
    }

    /**
     * Routes one token: softmax over logits[off .. off+experts), the {@code expertsPerToken} most probable experts
     * (the lower index first on a tie) into chosen[outOff ..] in descending order, their weights into weights[outOff ..].
     * {@code probs} is scratch of {@code experts} floats and is left holding the softmax.
     */
    public void route(float[] logits, int off, float[] probs, int[] chosen, float[] weights, int outOff) {
        float max = Float.NEGATIVE_INFINITY;
        for (int e = 0; e < experts; e++) max = Math.max(max, logits[off + e]);
        double sum = 0;
        for (int e = 0; e < experts; e++) {
            probs[e] = (float) Math.exp(logits[off + e] - max);
            sum += probs[e];
        }
        float inv = (float) (1.0 / sum);
        for (int e = 0; e < experts; e++) probs[e] *= inv;
        float chosenSum = 0;
        for (int j = 0; j < expertsPerToken; j++) {
            int best = -1;
            for (int e = 0; e < experts; e++) {
                if ((best < 0 || probs[e] > probs[best]) && !isChosen(chosen, outOff, j, e)) best = e;
            }
            chosen[outOff + j] = best;
            weights[outOff + j] = probs[best];
            chosenSum += probs[best];
        }
        if (normalizeTopK) for (int j = 0; j < expertsPerToken; j++) weights[outOff + j] /= chosenSum;
    }

    private static boolean isChosen(int[] chosen, int off, int n, int e) {
        for (int j = 0; j < n; j++) if (chosen[off + j] == e) return true;
        return false;
    }
}
