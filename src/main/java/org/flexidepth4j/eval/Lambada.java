package org.flexidepth4j.eval;

import java.util.List;
import org.flexidepth4j.tokenizer.Tokenizer;

/** LAMBADA: acc = greedy decoding reproduces every token of " " + last word; ppl = exp(-mean per-item log-likelihood). */
public final class Lambada {
    private Lambada() {
    }

    public static TaskResult evaluate(String task, List<EvalData.LambadaItem> items, Scorer scorer, Tokenizer tok, boolean progress) {
        long t0 = System.nanoTime(), p0 = scorer.tokensProcessed();
        long correct = 0, tokens = 0, layers = 0;
        double sumLogprob = 0;
        try (Progress bar = Progress.start(task, items.size(), progress)) {
            for (EvalData.LambadaItem item : items) {
                int[][] pair = Prompts.encodePair(tok, item.context(), " " + item.target());
                Scorer.Score s = scorer.loglikelihood(pair[0], pair[1]);
                if (s.greedy()) correct++;
                sumLogprob += s.logprob();
                tokens += s.tokens();
                layers += s.layersUsed();
                bar.step();
            }
        }
        double sec = (System.nanoTime() - t0) / 1e9;
        int n = items.size();
        return new TaskResult(task, n, MultipleChoice.ratio(correct, n), null, Math.exp(-sumLogprob / n),
                (double) layers / Math.max(1, tokens), (scorer.tokensProcessed() - p0) / Math.max(sec, 1e-9), sec);
    }
}
