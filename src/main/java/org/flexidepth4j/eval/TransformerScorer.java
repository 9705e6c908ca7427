package org.flexidepth4j.eval;

import java.util.Arrays;
import java.util.function.IntPredicate;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;

/**
 * Scores with a {@link Transformer} and one KV cache. Consecutive requests share their longest common token prefix:
 * the cache is truncated back to it and only the rest is run, so the choices of a multiple-choice item (and
 * overlapping windows) pay for their shared context once.
 */
public final class TransformerScorer implements Scorer {
    private final Transformer transformer;
    private final SkipPolicy policy;
    private final InferenceState state;
    private final int vocab;
    private int[] cached = new int[0];
    private long processed;

    public TransformerScorer(Transformer transformer, SkipPolicy policy, int contextLength) {
        this.transformer = transformer;
        this.policy = policy;
        this.state = transformer.newState(contextLength);
        this.vocab = transformer.config().vocabSize();
    }

    @Override
    public int contextLength() {
        return state.contextLength();
    }

    @Override
    public long tokensProcessed() {
        return processed;
    }

    @Override
    public Score loglikelihood(int[] context, int[] continuation) {
        if (context.length == 0) throw new IllegalArgumentException("empty context: prepend BOS");
        if (continuation.length == 0) throw new IllegalArgumentException("empty continuation");
        // the rows that predict the continuation are the last context token and all but the last continuation token
        int[] input = concat(context, continuation, continuation.length - 1);
        int firstScoring = context.length - 1;
        if (input.length > contextLength()) {
            // like lm-eval: drop context from the left so the whole continuation fits
            int drop = input.length - contextLength();
            if (drop > firstScoring) throw new IllegalArgumentException("continuation of " + continuation.length + " tokens does not fit the context length " + contextLength());
            input = Arrays.copyOfRange(input, drop, input.length);
            firstScoring -= drop;
        }
        int keep = Math.min(commonPrefix(input), firstScoring);
        state.truncate(keep);
        // context rows that predict nothing run without the LM head; then the scoring rows with logits for each
        if (keep < firstScoring) transformer.forward(state, input, keep, firstScoring - keep, policy, false);
        transformer.forward(state, input, firstScoring, input.length - firstScoring, policy, true);
        processed += input.length - keep;
        cached = input;

        float[] logits = state.logits();
        double sum = 0;
        boolean greedy = true;
        long layers = 0;
        for (int i = 0; i < continuation.length; i++) { // row i of the last call predicts continuation[i]
            sum += logSoftmax(logits, i * vocab, continuation[i]);
            if (argmax(logits, i * vocab) != continuation[i]) greedy = false;
            layers += state.layersUsed(i);
        }
        if (Double.isNaN(sum)) throw new IllegalArgumentException("the model produced NaN logits");
        return new Score(sum, greedy, continuation.length, layers);
    }

    @Override
    public Generation generate(int[] prompt, int maxTokens, IntPredicate stopAfter) {
        if (prompt.length == 0) throw new IllegalArgumentException("empty prompt: prepend BOS");
        if (prompt.length >= contextLength()) {
            // keep the end of an over-long prompt (the question), leaving a quarter of the context to generate in
            prompt = Arrays.copyOfRange(prompt, prompt.length - (contextLength() - Math.max(1, Math.min(maxTokens, contextLength() / 4))), prompt.length);
        }
        int max = Math.min(maxTokens, contextLength() - prompt.length);
        int keep = Math.min(commonPrefix(prompt), prompt.length - 1);
        state.truncate(keep);
        transformer.forward(state, prompt, keep, prompt.length - keep, policy, false);
        processed += prompt.length - keep;
        int[] seq = Arrays.copyOf(prompt, prompt.length + max);
        int n = 0;
        long layers = state.layersUsed(prompt.length - keep - 1);
        while (true) {
            int next = argmax(state.logits(), 0);
            seq[prompt.length + n++] = next;
            if (n == max || stopAfter.test(next)) break;
            transformer.forward(state, seq, prompt.length + n - 1, 1, policy, false);
            processed++;
            layers += state.layersUsed(0);
        }
        cached = Arrays.copyOf(seq, prompt.length + n - 1);
        return new Generation(Arrays.copyOfRange(seq, prompt.length, prompt.length + n), layers);
    }

    private int commonPrefix(int[] input) {
        int n = Math.min(Math.min(cached.length, state.length()), input.length);
        int i = 0;
        while (i < n && cached[i] == input[i]) i++;
        return i;
    }

    private static int[] concat(int[] a, int[] b, int bCount) {
        int[] r = Arrays.copyOf(a, a.length + bCount);
        System.arraycopy(b, 0, r, a.length, bCount);
        return r;
    }

    /** log softmax(row at off)[target], in double. */
    private double logSoftmax(float[] logits, int off, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) max = Math.max(max, logits[off + i]);
        double sum = 0;
        for (int i = 0; i < vocab; i++) sum += Math.exp(logits[off + i] - max);
        return logits[off + target] - max - Math.log(sum);
    }

    private int argmax(float[] logits, int off) {
        int best = 0;
        for (int i = 1; i < vocab; i++) if (logits[off + i] > logits[off + best]) best = i;
        return best;
    }
}
