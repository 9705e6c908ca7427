package org.flexidepth4j.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.tokenizer.Tokenizer;

/**
 * Negative log-likelihood of text under a model: the mean natural-log NLL of every predicted token (token i+1
 * from the logits at i, log-softmax in double), its exp, and the mean layers used at the predicting positions.
 */
public final class Perplexity {
    /** @param tokens predicted tokens; @param meanLayersUsed mean layers run at the predicting positions */
    public record Result(double meanNll, double perplexity, long tokens, double meanLayersUsed) {
    }

    private Perplexity() {
    }

    /** Blank-line separated paragraphs, newlines stripped from their ends, empty ones dropped. */
    public static List<String> splitParagraphs(String text) {
        List<String> out = new ArrayList<>();
        for (String p : text.replace("\r\n", "\n").split("\n\n")) {
            String s = p.replaceAll("^\n+|\n+$", "");
            if (!s.isEmpty()) out.add(s);
        }
        return out;
    }

    /**
     * Each paragraph encoded on its own with BOS first (added if the tokenizer's special-token encoding does not),
     * truncated to {@code maxTokens}, run from position 0.
     */
    public static Result paragraphs(Model model, SkipPolicy policy, List<String> paragraphs, int maxTokens) {
        if (maxTokens < 2) throw new IllegalArgumentException("max tokens must be >= 2, got " + maxTokens);
        Tokenizer tokenizer = model.requireTokenizer();
        Accumulator acc = new Accumulator();
        InferenceState state = model.transformer().newState(maxTokens);
        for (String p : paragraphs) {
            int[] ids = withBos(tokenizer, tokenizer.encodeWithSpecial(p));
            if (ids.length > maxTokens) ids = Arrays.copyOf(ids, maxTokens);
            if (ids.length < 2) continue;
            state.reset();
            score(model.transformer(), policy, state, ids, 0, ids.length, 1, acc);
        }
        return acc.result();
    }

    /**
     * The whole sequence in windows of {@code window} tokens starting every {@code stride}; each token is predicted
     * once, in the first window that reaches it, with as much preceding context as that window holds.
     */
    public static Result slidingWindow(Model model, SkipPolicy policy, int[] ids, int window, int stride) {
        if (window < 2) throw new IllegalArgumentException("window must be >= 2, got " + window);
        if (stride < 1 || stride > window) throw new IllegalArgumentException("stride must be in [1, " + window + "], got " + stride);
        if (ids.length < 2) throw new IllegalArgumentException("need at least 2 tokens, got " + ids.length);
        Accumulator acc = new Accumulator();
        InferenceState state = model.transformer().newState(window);
        int scoredUpTo = 1; // token 0 is never predicted
        for (int begin = 0; scoredUpTo < ids.length; begin += stride) {
            int end = Math.min(begin + window, ids.length);
            state.reset();
            score(model.transformer(), policy, state, ids, begin, end - begin, Math.max(1, scoredUpTo - begin), acc);
            scoredUpTo = end;
        }
        return acc.result();
    }

    /** Runs ids[begin, begin+count) and scores the tokens at window positions firstTarget .. count-1. */
    private static void score(Transformer tf, SkipPolicy policy, InferenceState state, int[] ids, int begin, int count,
                              int firstTarget, Accumulator acc) {
        tf.forward(state, ids, begin, count, policy, true);
        int v = tf.config().vocabSize();
        float[] logits = state.logits();
        for (int t = firstTarget; t < count; t++) {
            int row = (t - 1) * v;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) max = Math.max(max, logits[row + j]);
            double sum = 0;
            for (int j = 0; j < v; j++) sum += Math.exp(logits[row + j] - max);
            double nll = max + Math.log(sum) - logits[row + ids[begin + t]];
            if (Double.isNaN(nll)) throw new IllegalArgumentException("the model produced NaN logits");
            acc.add(nll, state.layersUsed(t - 1));
        }
    }

    private static int[] withBos(Tokenizer tokenizer, int[] ids) {
        int bos = tokenizer.bosId();
        if (bos < 0 || (ids.length > 0 && ids[0] == bos)) return ids;
        int[] out = new int[ids.length + 1];
        out[0] = bos;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    private static final class Accumulator {
        double nll;
        long layers;
        long tokens;

        void add(double tokenNll, int layersUsed) {
            nll += tokenNll;
            layers += layersUsed;
            tokens++;
        }

        Result result() {
            if (tokens == 0) throw new IllegalArgumentException("no tokens to score");
            double mean = nll / tokens;
            return new Result(mean, Math.exp(mean), tokens, (double) layers / tokens);
        }
    }
}
