package org.flexidepth4j.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.model.DecoderVariant;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.model.ParityAssert;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.junit.jupiter.api.Test;

/**
 * Mistral-style sliding windows on every layer. RoPE scores depend only on the distance between query and key, so a
 * one-layer model's windowed output at position p is its full-attention output for the last W tokens alone, run from
 * position 0: that is the hand check, for prefill (block attention) and decode (one token at a time) alike.
 */
class SlidingWindowTest {
    static final Path TINYLM = Path.of("src/main/resources/models/tinylm-12l");
    static final int WINDOW = 7;

    /** tinylm-12l's first layer alone, with the given variant. */
    static Transformer oneLayer(DecoderVariant variant) {
        Model m = ModelLoader.load(TINYLM);
        ModelConfig c = m.config();
        ModelConfig one = new ModelConfig(c.architecture(), c.hiddenSize(), c.intermediateSize(), 1, c.numHeads(), c.numKvHeads(), c.headDim(),
                c.vocabSize(), c.maxPositions(), c.rmsNormEps(), c.rope(), c.tiedEmbeddings(), c.attentionBias(), c.qkNorm()).withVariant(variant);
        ModelWeights w = m.transformer().weights();
        return new Transformer(one, new ModelWeights(w.embedding(), Arrays.copyOf(w.layers(), 1), w.finalNorm(), w.lmHead()));
    }

    @Test
    void aWindowedLayerSeesExactlyTheLastWindowOfTokensInPrefillAndDecode() {
        Transformer windowed = oneLayer(DecoderVariant.LLAMA.withSlidingWindow(WINDOW, 0)), full = oneLayer(DecoderVariant.LLAMA);
        int[] ids = new SplittableRandom(5).ints(30, 3, 8000).toArray();
        int vocab = windowed.config().vocabSize();
        InferenceState prefill = windowed.newState(ids.length);
        windowed.forward(prefill, ids, 0, 20, SkipPolicy.NONE, true);
        InferenceState decode = windowed.newState(ids.length);
        windowed.forward(decode, ids, 0, 20, SkipPolicy.NONE, false);
        for (int p = 0; p < ids.length; p++) {
            float[] got;
            if (p < 20) {
                got = prefill.logitsRow(p);
            } else {
                windowed.forward(decode, ids, p, 1, SkipPolicy.NONE, false);
                got = decode.logitsRow(0);
            }
            int first = Math.max(0, p - WINDOW + 1);
            InferenceState alone = full.newState(WINDOW);
            full.forward(alone, ids, first, p + 1 - first, SkipPolicy.NONE, false);
            assertThat(ParityAssert.relativeError(got, 0, alone.logitsRow(0), 0, vocab)).as("position " + p).isLessThan(1e-4);
        }
    }

    @Test
    void mistralConfigsSetTheWindowOnEveryLayerAndQwen2sOptInIsRefused() throws Exception {
        ObjectMapper json = new ObjectMapper();
        String base = "{\"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 4, \"num_attention_heads\": 4, \"vocab_size\": 100, ";
        ModelConfig mistral = HfConfig.parse(Path.of("config.json"), json.readTree(base + "\"model_type\": \"mistral\", \"sliding_window\": 4096}"));
        assertThat(mistral.variant().slidingWindow()).isEqualTo(4096);
        for (int l = 0; l < 4; l++) assertThat(mistral.variant().slides(l)).isTrue();
        ModelConfig noWindow = HfConfig.parse(Path.of("config.json"), json.readTree(base + "\"model_type\": \"mistral\", \"sliding_window\": null}"));
        assertThat(noWindow.variant()).isEqualTo(DecoderVariant.LLAMA);
        ModelConfig qwen = HfConfig.parse(Path.of("config.json"), json.readTree(base + "\"model_type\": \"qwen2\", \"sliding_window\": 4096, \"use_sliding_window\": false}"));
        assertThat(qwen.variant()).isEqualTo(DecoderVariant.LLAMA);
        assertThatThrownBy(() -> HfConfig.parse(Path.of("config.json"), json.readTree(base + "\"model_type\": \"qwen2\", \"sliding_window\": 4096, \"use_sliding_window\": true}")))
                .isInstanceOf(FormatException.class).hasMessageContaining("use_sliding_window");
    }
}
