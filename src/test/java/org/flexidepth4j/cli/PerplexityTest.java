package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.List;
import org.flexidepth4j.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.eval.Perplexity;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import org.junit.jupiter.api.Test;

/** Perplexity against NLL computed here, in double, from the reference logits of the llama3 parity fixture. */
class PerplexityTest {
    static final Path LLAMA = Shared.path("fixtures/hf-parity/llama3");

    /** Mean NLL of ids[1..] from reference logits rows 0..T-2. */
    static double referenceNll(float[] logits, int[] ids, int v) {
        double total = 0;
        for (int t = 0; t + 1 < ids.length; t++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < v; j++) max = Math.max(max, logits[t * v + j]);
            for (int j = 0; j < v; j++) sum += Math.exp(logits[t * v + j] - max);
            total += max + Math.log(sum) - logits[t * v + ids[t + 1]];
        }
        return total / (ids.length - 1);
    }

    @Test
    void oneWindowOverTheWholeSequenceMatchesReferenceLogits() {
        Model model = ModelLoader.load(LLAMA);
        SafeTensors ref = SafeTensors.open(LLAMA.resolve("reference.safetensors"));
        int[] ids = ref.get("ids_b").toInts();
        double want = referenceNll(ref.get("logits_b").toFloats(), ids, model.config().vocabSize());

        Perplexity.Result r = Perplexity.slidingWindow(model, SkipPolicy.NONE, ids, 64, 32);
        assertThat(r.tokens()).isEqualTo(63);
        assertThat(r.meanNll()).isCloseTo(want, within(1e-4));
        assertThat(r.perplexity()).isCloseTo(Math.exp(r.meanNll()), within(1e-9));
        assertThat(r.meanLayersUsed()).isEqualTo(6.0);
    }

    @Test
    void slidingWindowsPredictEachTokenOnceWithTheContextOfItsFirstWindow() {
        Model model = ModelLoader.load(LLAMA);
        int[] ids = SafeTensors.open(LLAMA.resolve("reference.safetensors")).get("ids_b").toInts();
        int window = 16, stride = 8, v = model.config().vocabSize();
        // Independently: token p is predicted in the first window [b, b + 16), b = 0, 8, 16, ..., that contains it,
        // from a fresh forward over ids[b .. p).
        double total = 0;
        for (int p = 1; p < ids.length; p++) {
            int b = 0;
            while (b + window <= p) b += stride;
            InferenceState s = model.transformer().newState(window);
            model.transformer().forward(s, ids, b, p - b, SkipPolicy.NONE, false);
            total += referenceNll(java.util.Arrays.copyOf(s.logits(), 2 * v), new int[] {0, ids[p]}, v);
        }
        Perplexity.Result r = Perplexity.slidingWindow(model, SkipPolicy.NONE, ids, window, stride);
        assertThat(r.tokens()).isEqualTo(63);
        assertThat(r.meanNll()).isCloseTo(total / 63, within(1e-4));
        // windows that do not overlap cannot predict the first token of each window
        assertThat(Perplexity.slidingWindow(model, SkipPolicy.NONE, ids, 16, 16).tokens()).isEqualTo(60);
    }

    @Test
    void paragraphsAreSplitOnBlankLines() {
        assertThat(Perplexity.splitParagraphs("\nOne\ntwo\n\n\n\nThree.\n\n")).containsExactly("One\ntwo", "Three.");
        assertThat(Perplexity.splitParagraphs("a\r\n\r\nb")).containsExactly("a", "b");
        assertThat(Perplexity.splitParagraphs("\n\n")).isEqualTo(List.of());
    }
}
