package org.flexidepth4j.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.IntPredicate;

/** A scorer whose log-likelihoods a test decides from the decoded (context, continuation) text. */
class FakeScorer implements Scorer {
    final CharTokenizer tok = new CharTokenizer();
    final BiFunction<String, String, Double> logprob;
    final List<String[]> calls = new ArrayList<>();
    String generated = "";

    FakeScorer(BiFunction<String, String, Double> logprob) {
        this.logprob = logprob;
    }

    @Override
    public Score loglikelihood(int[] context, int[] continuation) {
        String ctx = tok.decode(context), cont = tok.decode(continuation);
        calls.add(new String[] {ctx, cont});
        return new Score(logprob.apply(ctx, cont), false, continuation.length, 3L * continuation.length);
    }

    @Override
    public Generation generate(int[] prompt, int maxTokens, IntPredicate stopAfter) {
        calls.add(new String[] {tok.decode(prompt), null});
        int[] ids = tok.encode(generated);
        int n = 0;
        while (n < Math.min(maxTokens, ids.length)) {
            if (stopAfter.test(ids[n++])) break;
        }
        return new Generation(java.util.Arrays.copyOf(ids, n), 2L * n);
    }

    @Override
    public long tokensProcessed() {
        return 0;
    }

    @Override
    public int contextLength() {
        return 4096;
    }
}
