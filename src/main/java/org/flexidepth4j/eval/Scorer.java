package org.flexidepth4j.eval;

import java.util.function.IntPredicate;

/**
 * What the evaluation tasks need from a language model, in token ids: the log-likelihood of a continuation given a
 * context, and greedy generation. {@link TransformerScorer} is the real one; tests use fakes whose numbers they control.
 */
public interface Scorer {
    /**
     * Score of {@code continuation} following {@code context} (context non-empty: the first continuation token is
     * predicted from the last context token).
     */
    Score loglikelihood(int[] context, int[] continuation);

    /**
     * Greedy continuation of {@code prompt}: at most {@code maxTokens} ids, stopping early after an id for which
     * {@code stopAfter} says true (that id is included).
     */
    Generation generate(int[] prompt, int maxTokens, IntPredicate stopAfter);

    /** Tokens run through the model so far (for tokens/s). */
    long tokensProcessed();

    /** The longest sequence the model can see at once. */
    int contextLength();

    /**
     * @param logprob     natural-log probability of the whole continuation
     * @param greedy      whether every continuation token was the argmax
     * @param tokens      continuation tokens scored
     * @param layersUsed  sum over the scoring rows of the layers each ran
     */
    record Score(double logprob, boolean greedy, int tokens, long layersUsed) {
    }

    /** Generated ids and the sum of layers used over the rows that produced them. */
    record Generation(int[] ids, long layersUsed) {
    }
}
