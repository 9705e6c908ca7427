package org.flexidepth4j.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import org.flexidepth4j.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import org.junit.jupiter.api.Test;

/** The model-level perplexity API against NLL computed here from tinylm-12l's float64 reference logits. */
class PerplexityReferenceTest {
    static final Path TINY = Shared.path("models/tinylm-12l");

    @Test
    void slidingWindowMatchesReferenceLogits() {
        Model model = ModelLoader.load(TINY);
        SafeTensors ref = SafeTensors.open(TINY.resolve("reference.safetensors"));
        int[] ids = ref.get("ids").toInts();
        float[] logits = ref.get("logits").toFloats();
        int v = model.config().vocabSize();
        double total = 0;
        for (int t = 0; t + 1 < ids.length; t++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < v; j++) max = Math.max(max, logits[t * v + j]);
            for (int j = 0; j < v; j++) sum += Math.exp(logits[t * v + j] - max);
            total += max + Math.log(sum) - logits[t * v + ids[t + 1]];
        }
        Perplexity.Result r = Perplexity.slidingWindow(model, SkipPolicy.NONE, ids, 64, 32);
        assertThat(r.tokens()).isEqualTo(ids.length - 1);
        assertThat(r.meanNll()).isCloseTo(total / (ids.length - 1), within(1e-4));
        assertThat(r.perplexity()).isCloseTo(Math.exp(r.meanNll()), within(1e-9));
        assertThat(r.meanLayersUsed()).isEqualTo(12.0);
        // disjoint windows cannot predict the first token of each window
        assertThat(Perplexity.slidingWindow(model, SkipPolicy.NONE, ids, 16, 16).tokens()).isEqualTo(ids.length - ids.length / 16);
        assertThatThrownBy(() -> Perplexity.slidingWindow(model, SkipPolicy.NONE, new int[] {5}, 16, 8)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Perplexity.splitParagraphs("a\r\n\r\nb\n\n\n")).containsExactly("a", "b");
    }
}
