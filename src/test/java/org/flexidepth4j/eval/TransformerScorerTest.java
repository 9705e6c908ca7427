package org.flexidepth4j.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.Random;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real scorer on the random-weight llama3 fixture (6 layers, vocab 512) against direct computations. */
class TransformerScorerTest {
    static Transformer tf;

    @BeforeAll
    static void load() {
        tf = ModelLoader.load(Shared.path("fixtures/hf-parity/llama3")).transformer();
    }

    static int[] randomTokens(int n, long seed) {
        Random r = new Random(seed);
        return r.ints(n, 3, 512).toArray();
    }

    /** log p(tokens[at] | tokens[from..at)) with a fresh state. */
    static double direct(int[] tokens, int from, int at) {
        InferenceState s = tf.newState(512);
        tf.forward(s, tokens, from, at - from, SkipPolicy.NONE, false);
        float[] l = s.logits();
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int i = 0; i < 512; i++) max = Math.max(max, l[i]);
        for (int i = 0; i < 512; i++) sum += Math.exp(l[i] - max);
        return l[tokens[at]] - max - Math.log(sum);
    }

    @Test
    void sharedPrefixScoresEqualFreshOnes() {
        int[] ctx = randomTokens(20, 1);
        int[] a = randomTokens(5, 2), b = randomTokens(3, 3);
        TransformerScorer sc = new TransformerScorer(tf, SkipPolicy.NONE, 128);
        double la = sc.loglikelihood(ctx, a).logprob();
        Scorer.Score sb = sc.loglikelihood(ctx, b);
        double la2 = sc.loglikelihood(ctx, a).logprob();
        int[] seqA = concat(ctx, a), seqB = concat(ctx, b);
        double wantA = 0, wantB = 0;
        for (int i = 0; i < a.length; i++) wantA += direct(seqA, 0, ctx.length + i);
        for (int i = 0; i < b.length; i++) wantB += direct(seqB, 0, ctx.length + i);
        assertThat(la).isCloseTo(wantA, within(1e-4 * Math.abs(wantA)));
        assertThat(sb.logprob()).isCloseTo(wantB, within(1e-4 * Math.abs(wantB)));
        assertThat(la2).isCloseTo(la, within(1e-9 * Math.abs(la)));
        // 20 + 5 + 3 + 5 tokens if nothing were shared; sharing runs the context once plus one row per choice
        assertThat(sc.tokensProcessed()).isEqualTo(20 + 4 + 3 + 5);
        assertThat(sb.tokens()).isEqualTo(3);
        assertThat(sb.layersUsed()).isEqualTo(3 * 6);
    }

    @Test
    void overLongContextIsCutFromTheLeft() {
        int[] ctx = randomTokens(30, 8), cont = randomTokens(3, 9);
        TransformerScorer small = new TransformerScorer(tf, SkipPolicy.NONE, 16);
        // 30 + 3 - 1 = 32 input rows; the last 16 fit: context tokens 16..29 then the continuation
        int[] kept = concat(Arrays.copyOfRange(ctx, 16, 30), cont);
        double want = 0;
        for (int i = 0; i < 3; i++) want += direct(kept, 0, 14 + i);
        assertThat(small.loglikelihood(ctx, cont).logprob()).isCloseTo(want, within(1e-4 * Math.abs(want)));
        assertThatThrownBy(() -> small.loglikelihood(ctx, randomTokens(20, 10))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not fit");
    }

    @Test
    void greedyFlagMatchesArgmaxContinuation() {
        int[] ctx = randomTokens(10, 4);
        TransformerScorer sc = new TransformerScorer(tf, SkipPolicy.NONE, 128);
        Scorer.Generation g = sc.generate(ctx, 6, id -> false);
        assertThat(g.ids()).hasSize(6);
        assertThat(g.layersUsed()).isEqualTo(6 * 6);
        // manual greedy loop
        int[] seq = Arrays.copyOf(ctx, 16);
        for (int i = 0; i < 6; i++) {
            InferenceState s = tf.newState(64);
            tf.forward(s, seq, 0, 10 + i, SkipPolicy.NONE, false);
            float[] l = s.logits();
            int best = 0;
            for (int v = 1; v < 512; v++) if (l[v] > l[best]) best = v;
            seq[10 + i] = best;
        }
        assertThat(g.ids()).containsExactly(Arrays.copyOfRange(seq, 10, 16));
        assertThat(sc.loglikelihood(ctx, g.ids()).greedy()).isTrue();
        int[] wrong = g.ids().clone();
        wrong[3] = wrong[3] == 5 ? 6 : 5;
        assertThat(sc.loglikelihood(ctx, wrong).greedy()).isFalse();
        assertThat(sc.generate(ctx, 6, id -> id == seq[11]).ids()).containsExactly(seq[10], seq[11]);
        // a prompt longer than the context keeps its end and leaves a quarter of the context to generate in
        TransformerScorer small = new TransformerScorer(tf, SkipPolicy.NONE, 8);
        int[] cut = Arrays.copyOfRange(ctx, 4, 10);
        assertThat(small.generate(ctx, 6, id -> false).ids()).containsExactly(sc.generate(cut, 2, id -> false).ids());
    }

    @Test
    void slidingWindowEqualsPerTokenDirectComputation() {
        int[] tokens = randomTokens(41, 5);
        int window = 16, stride = 5;
        TransformerScorer sc = new TransformerScorer(tf, SkipPolicy.NONE, 64);
        Perplexity.Nll got = Perplexity.slidingWindow(sc, tokens, window, stride, 0, null);
        // each token i >= 1 is predicted in the first window [b, b + window) that contains it with b < i
        double want = 0;
        for (int i = 1; i < tokens.length; i++) {
            int b = 0;
            while (b + window <= i) b += stride;
            want -= direct(tokens, b, i);
        }
        assertThat(got.tokens()).isEqualTo(40);
        assertThat(got.nll()).isCloseTo(want, within(1e-4 * want));
        assertThat(Perplexity.windows(41, 16, 5)).isEqualTo(6);
        // one window over everything is the plain sequence NLL
        double full = 0;
        for (int i = 1; i < tokens.length; i++) full -= direct(tokens, 0, i);
        assertThat(Perplexity.slidingWindow(sc, tokens, 64, 64, 0, null).nll()).isCloseTo(full, within(1e-4 * full));
    }

    @Test
    void paragraphProtocolScoresEachParagraphFromBos() {
        CharTokenizer tok = new CharTokenizer();
        TransformerScorer sc = new TransformerScorer(tf, SkipPolicy.NONE, 64);
        Perplexity.Nll got = Perplexity.paragraphs(sc, tok, java.util.List.of("hello there", "abc"), 4, null);
        double want = 0;
        for (String p : new String[] {"hell", "abc"}) {
            int[] ids = Prompts.withBos(tok, tok.encode(p));
            for (int i = 1; i < ids.length; i++) want -= direct(ids, 0, i);
        }
        assertThat(got.tokens()).isEqualTo(7);
        assertThat(got.nll()).isCloseTo(want, within(1e-4 * want));
    }

    @Test
    void layersUsedCountsRemovedLayers() {
        SkipPolicy dropFirst = layer -> layer == 0 ? SkipPolicy.Plan.REMOVED : SkipPolicy.Plan.DENSE;
        TransformerScorer sc = new TransformerScorer(tf, dropFirst, 64);
        Scorer.Score s = sc.loglikelihood(randomTokens(5, 6), randomTokens(4, 7));
        assertThat(s.layersUsed()).isEqualTo(4 * 5);
    }

    static int[] concat(int[] a, int[] b) {
        int[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
