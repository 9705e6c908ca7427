package org.flexidepth4j.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import org.flexidepth4j.load.ModelLoader;
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
        TransformerScorer scorer = new TransformerScorer(model.transformer(), SkipPolicy.NONE, 64);
        Perplexity.Nll r = Perplexity.slidingWindow(scorer, ids, 64, 32, 0, null);
        assertThat(r.tokens()).isEqualTo(ids.length - 1);
        assertThat(r.mean()).isCloseTo(total / (ids.length - 1), within(1e-4));
        assertThat(r.ppl()).isCloseTo(Math.exp(r.mean()), within(1e-9));
        assertThat(r.layers()).isEqualTo(12L * r.tokens());
        // disjoint windows cannot predict the first token of each window
        assertThat(Perplexity.slidingWindow(scorer, ids, 16, 16, 0, null).tokens()).isEqualTo(ids.length - ids.length / 16);
        assertThatThrownBy(() -> Perplexity.slidingWindow(scorer, ids, 16, 17, 0, null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stride");
    }
}
