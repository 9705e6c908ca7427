package org.flexidepth4j.eval;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.flexidepth4j.tokenizer.Tokenizer;

/**
 * Multiple choice by log-likelihood, the lm-eval-harness way: acc picks the choice with the largest summed
 * log-probability; acc_norm divides each by the UTF-8 byte length of its continuation first.
 */
public final class MultipleChoice {
    private MultipleChoice() {
    }

    /** The per-choice log-likelihoods of one item, and what acc and acc_norm pick. */
    public record Scored(double[] logprobs, int pick, int pickNorm, long tokens, long layers) {
    }

    public static Scored score(McItem item, Scorer scorer, Tokenizer tok) {
        int k = item.choices();
        double[] lp = new double[k];
        long tokens = 0, layers = 0;
        int pick = 0, pickNorm = 0;
        double bestNorm = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < k; c++) {
            int[][] pair = Prompts.encodePair(tok, item.context(c), item.continuation(c));
            Scorer.Score s = scorer.loglikelihood(pair[0], pair[1]);
            lp[c] = s.logprob();
            tokens += s.tokens();
            layers += s.layersUsed();
            if (lp[c] > lp[pick]) pick = c;
            double norm = lp[c] / Math.max(1, item.continuation(c).getBytes(StandardCharsets.UTF_8).length);
            if (norm > bestNorm) {
                bestNorm = norm;
                pickNorm = c;
            }
        }
        return new Scored(lp, pick, pickNorm, tokens, layers);
    }

    /** @param withNorm whether acc_norm is reported (not for WinoGrande, whose choices share one continuation) */
    public static TaskResult evaluate(String task, List<McItem> items, Scorer scorer, Tokenizer tok, boolean withNorm, boolean progress) {
        long t0 = System.nanoTime(), p0 = scorer.tokensProcessed();
        long correct = 0, correctNorm = 0, tokens = 0, layers = 0;
        try (Progress bar = Progress.start(task, items.size(), progress)) {
            for (McItem item : items) {
                Scored s = score(item, scorer, tok);
                if (s.pick() == item.gold()) correct++;
                if (s.pickNorm() == item.gold()) correctNorm++;
                tokens += s.tokens();
                layers += s.layers();
                bar.step();
            }
        }
        double sec = (System.nanoTime() - t0) / 1e9;
        int n = items.size();
        return new TaskResult(task, n, ratio(correct, n), withNorm ? ratio(correctNorm, n) : null, null,
                (double) layers / Math.max(1, tokens), (scorer.tokensProcessed() - p0) / Math.max(sec, 1e-9), sec);
    }

    static double ratio(long a, long b) {
        return b == 0 ? Double.NaN : (double) a / b;
    }
}
