package org.flexidepth4j.eval;

/**
 * One row of an evaluation report. Metrics a task does not have are null: acc_norm for tasks without a
 * length-normalised variant, ppl for accuracy-only tasks, acc for pure perplexity.
 *
 * @param n               items scored (tokens predicted, for perplexity)
 * @param layersPerToken  mean layers run per scored token (the rows whose logits were used)
 * @param tokensPerSecond tokens run through the model per second of the task's wall time
 */
public record TaskResult(String task, long n, Double acc, Double accNorm, Double ppl, double layersPerToken, double tokensPerSecond, double seconds) {
}
