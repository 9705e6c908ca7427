package org.flexidepth4j.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class MultipleChoiceTest {
    @Test
    void accAndAccNormDisagreeWhenLengthsDiffer() {
        // " a": -1.0 over 2 bytes = -0.5/byte; " bbbbbbbb": -1.5 over 9 bytes = -0.167/byte
        FakeScorer f = new FakeScorer((ctx, cont) -> cont.equals(" a") ? -1.0 : -1.5);
        McItem item = McItem.of("Q:", List.of(" a", " bbbbbbbb"), 1);
        MultipleChoice.Scored s = MultipleChoice.score(item, f, f.tok);
        assertThat(s.pick()).isZero();
        assertThat(s.pickNorm()).isEqualTo(1);
        assertThat(s.logprobs()).containsExactly(-1.0, -1.5);
        TaskResult r = MultipleChoice.evaluate("t", List.of(item, McItem.of("Q:", List.of(" a", " bbbbbbbb"), 0)), f, f.tok, true, false);
        assertThat(r.n()).isEqualTo(2);
        assertThat(r.acc()).isEqualTo(0.5);
        assertThat(r.accNorm()).isEqualTo(0.5);
        assertThat(r.layersPerToken()).isEqualTo(3.0);
        // the scorer saw BOS + context, and the continuation with its leading space
        assertThat(f.calls.get(0)).containsExactly("<s>Q:", " a");
    }

    @Test
    void winograndePartialScoringScoresTheSharedContinuationPerContext() {
        FakeScorer f = new FakeScorer((ctx, cont) -> ctx.endsWith("dog") ? -2.0 : -5.0);
        McItem item = new McItem(List.of("The cat", "The dog"), List.of(" barked."), 1);
        TaskResult r = MultipleChoice.evaluate("winogrande", List.of(item), f, f.tok, false, false);
        assertThat(r.acc()).isEqualTo(1.0);
        assertThat(r.accNorm()).isNull();
        assertThat(f.calls).hasSize(2);
        assertThat(f.calls.get(0)).containsExactly("<s>The cat", " barked.");
        assertThat(f.calls.get(1)).containsExactly("<s>The dog", " barked.");
    }

    @Test
    void trailingContextSpaceMovesToTheContinuation() {
        int[][] pair = Prompts.encodePair(new CharTokenizer(), "Answer: ", "B");
        CharTokenizer t = new CharTokenizer();
        assertThat(t.decode(pair[0])).isEqualTo("<s>Answer:");
        assertThat(t.decode(pair[1])).isEqualTo(" B");
    }

    @Test
    void lambadaAccuracyIsGreedyMatchAndPplIsPerItem() {
        FakeScorer f = new FakeScorer((ctx, cont) -> -2.0) {
            @Override
            public Score loglikelihood(int[] context, int[] continuation) {
                String cont = tok.decode(continuation);
                return new Score(cont.equals(" signs") ? -1.0 : -3.0, cont.equals(" signs"), continuation.length, 0);
            }
        };
        TaskResult r = Lambada.evaluate("lambada", List.of(new EvalData.LambadaItem("about", "signs"), new EvalData.LambadaItem("the", "end")), f, f.tok, false);
        assertThat(r.acc()).isEqualTo(0.5);
        assertThat(r.ppl()).isCloseTo(Math.exp(2.0), within(1e-12));
    }
}
