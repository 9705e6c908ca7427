package org.flexidepth4j.eval;

import java.nio.file.Path;
import java.util.List;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;

/**
 * What {@link Evaluator#run} needs.
 *
 * @param limit         items per task (per subject for MMLU, windows for perplexity); 0 = all
 * @param shots         few-shot examples, or null for each task's default (MMLU and GSM8K 5, others 0)
 * @param contextLength tokens the model sees at once (also the perplexity window)
 * @param stride        perplexity window stride; 0 = half the window
 * @param maxGenTokens  generation limit for generative tasks
 * @param plugin        the plug-in file the policy routes with, recorded in the results; null for none
 */
public record EvalConfig(Model model, SkipPolicy policy, List<TaskSpec> tasks, int limit, Integer shots, Path out,
                         int contextLength, int stride, int maxGenTokens, boolean progress, String plugin) {
    public EvalConfig {
        if (limit < 0) throw new IllegalArgumentException("--limit must be >= 0");
        if (shots != null && shots < 0) throw new IllegalArgumentException("--shots must be >= 0");
        if (contextLength < 2) throw new IllegalArgumentException("context length must be >= 2");
    }

    /** Defaults: all items, task-default shots, context min(model, 2048), stride window/2, 256 generated tokens. */
    public static EvalConfig of(Model model, SkipPolicy policy, List<TaskSpec> tasks, Path out) {
        return new EvalConfig(model, policy, tasks, 0, null, out, Math.min(model.config().maxPositions(), 2048), 0, 256, true, null);
    }
}
