package org.flexidepth4j.eval;

import java.util.Arrays;
import java.util.List;
import org.flexidepth4j.tokenizer.Tokenizer;

/** Perplexity of text: a sliding window over one token stream, or the paragraph protocol. */
public final class Perplexity {
    private Perplexity() {
    }

    /** Summed natural-log NLL over {@code tokens} predicted tokens, and layers used over the predicting rows. */
    public record Nll(double nll, long tokens, long layers) {
        public double mean() {
            return nll / tokens;
        }

        public double ppl() {
            return Math.exp(mean());
        }
    }

    /**
     * Sliding window (as in the HF perplexity guide): windows of {@code window} tokens start every {@code stride}
     * tokens; each predicts only the tokens the previous window did not, using everything before them in the window
     * as context. stride == window gives disjoint windows. Token 0 is never predicted. {@code maxWindows} &le; 0
     * means all.
     */
    public static Nll slidingWindow(Scorer scorer, int[] tokens, int window, int stride, int maxWindows, Progress bar) {
        if (window < 2 || window > scorer.contextLength()) throw new IllegalArgumentException("window " + window + " must be 2.." + scorer.contextLength());
        if (stride < 1 || stride > window) throw new IllegalArgumentException("stride " + stride + " must be 1..window (" + window + ")");
        double nll = 0;
        long count = 0, layers = 0;
        int prevEnd = 1, windows = 0;
        for (int begin = 0; prevEnd < tokens.length && (maxWindows <= 0 || windows < maxWindows); begin += stride, windows++) {
            int end = Math.min(begin + window, tokens.length);
            int firstTarget = Math.max(prevEnd, begin + 1);
            if (firstTarget < end) {
                Scorer.Score s = scorer.loglikelihood(Arrays.copyOfRange(tokens, begin, firstTarget), Arrays.copyOfRange(tokens, firstTarget, end));
                nll -= s.logprob();
                count += s.tokens();
                layers += s.layersUsed();
            }
            prevEnd = end;
            if (bar != null) bar.step();
        }
        return new Nll(nll, count, layers);
    }

    /**
     * llama.cpp's llama-perplexity protocol: {@code tokens} (BOS first) cut into disjoint chunks of {@code chunk}
     * tokens, each chunk's first token replaced by {@code bos} (kept when it is negative: no BOS), and each chunk's second half scored ({@code chunk / 2 - 1}
     * tokens, each predicted from everything before it in the chunk). At most {@code maxChunks} chunks (&le; 0: every
     * whole chunk), so its numbers compare with llama-perplexity's {@code -c chunk --chunks maxChunks}.
     */
    public static Nll chunks(Scorer scorer, int[] tokens, int bos, int chunk, int maxChunks, Progress bar) {
        if (chunk < 4 || chunk > scorer.contextLength()) throw new IllegalArgumentException("chunk " + chunk + " must be 4.." + scorer.contextLength());
        int n = tokens.length / chunk;
        if (maxChunks > 0) n = Math.min(n, maxChunks);
        double nll = 0;
        long count = 0, layers = 0;
        int first = chunk / 2 + 1;
        for (int c = 0; c < n; c++) {
            int start = c * chunk;
            int[] context = Arrays.copyOfRange(tokens, start, start + first);
            if (bos >= 0) context[0] = bos;
            Scorer.Score s = scorer.loglikelihood(context, Arrays.copyOfRange(tokens, start + first, start + chunk));
            nll -= s.logprob();
            count += s.tokens();
            layers += s.layersUsed();
            if (bar != null) bar.step();
        }
        return new Nll(nll, count, layers);
    }

    /** Windows {@link #slidingWindow} runs over {@code n} tokens. */
    public static int windows(int n, int window, int stride) {
        return n <= window ? 1 : 1 + (n - window + stride - 1) / stride;
    }

    /**
     * Paragraph protocol: each paragraph alone as BOS + at most {@code maxTokens} tokens (the scorer needs a context
     * of maxTokens + 1); the NLL is averaged over all predicted tokens of all paragraphs.
     */
    public static Nll paragraphs(Scorer scorer, Tokenizer tok, List<String> paragraphs, int maxTokens, Progress bar) {
        double nll = 0;
        long count = 0, layers = 0;
        for (String p : paragraphs) {
            int[] text = tok.encode(p);
            int[] ids = Prompts.withBos(tok, Arrays.copyOf(text, Math.min(text.length, maxTokens)));
            if (ids.length >= 2) {
                Scorer.Score s = scorer.loglikelihood(Arrays.copyOf(ids, 1), Arrays.copyOfRange(ids, 1, ids.length));
                nll -= s.logprob();
                count += s.tokens();
                layers += s.layersUsed();
            }
            if (bar != null) bar.step();
        }
        return new Nll(nll, count, layers);
    }
}
