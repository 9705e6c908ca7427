package org.flexidepth4j.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;
import static org.assertj.core.api.Assertions.withinPercentage;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.flexidepth4j.Shared;
import org.flexidepth4j.eval.Perplexity;
import org.flexidepth4j.eval.Prompts;
import org.flexidepth4j.eval.TransformerScorer;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.model.Generator;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ParityAssert;
import org.flexidepth4j.model.RopeConfig;
import org.flexidepth4j.model.Sampler;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Kernels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Llama 3.1 RoPE scaling in its two spellings: GGUF's {@code rope_freqs.weight} divisors (tinylm-llama31-q8_0.gguf,
 * written by llama.cpp's converter) and HF's {@code rope_scaling: llama3} (tinylm-12l's weights with
 * tinylm-llama31.config.json) are the same model, and match llama.cpp's outputs for the file.
 */
class RopeScalingTest {
    private static final Path GGUF_DIR = Shared.path("models/tinylm-12l-gguf");
    private static final String LLAMA31 = "tinylm-llama31-q8_0.gguf";
    @TempDir
    static Path hfDir;
    private static Model gguf;
    private static Model hf;

    /** tinylm-12l's directory with tinylm-llama31.config.json as its config.json. */
    @BeforeAll
    static void load() throws IOException {
        Path base = Shared.path("models/tinylm-12l");
        for (String f : List.of("model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
            Files.createSymbolicLink(hfDir.resolve(f), base.resolve(f).toAbsolutePath());
        }
        Files.createSymbolicLink(hfDir.resolve("config.json"), GGUF_DIR.resolve("tinylm-llama31.config.json").toAbsolutePath());
        gguf = ModelLoader.load(GGUF_DIR.resolve(LLAMA31));
        hf = ModelLoader.quantize(ModelLoader.load(hfDir), DType.Q8_0);
    }

    private static float[] logits(Model model, int[] ids) {
        InferenceState s = model.transformer().newState(ids.length);
        model.transformer().forward(s, ids, 0, ids.length, SkipPolicy.NONE, true);
        return s.logits().clone();
    }

    @Test
    void ropeFreqsDivisorsGiveHfLlama3Frequencies() {
        assertThat(gguf.config().rope().scaling()).isInstanceOf(RopeConfig.FrequencyDivisors.class);
        assertThat(hf.config().rope().scaling()).isEqualTo(new RopeConfig.Llama3(8, 1, 4, 256));
        double[] fromDivisors = gguf.config().rope().inverseFrequencies(64);
        double[] llama3 = hf.config().rope().inverseFrequencies(64);
        double[] plain = RopeConfig.plain(10000, false).inverseFrequencies(64);
        for (int i = 0; i < llama3.length; i++) assertThat(fromDivisors[i]).isCloseTo(llama3[i], withinPercentage(1e-4));
        // pairs whose wavelength exceeds the original 256 positions are stretched 8 times, the fastest ones kept
        assertThat(llama3[31] / plain[31]).isCloseTo(1 / 8.0, offset(1e-12));
        assertThat(llama3[0]).isEqualTo(plain[0]);
    }

    @Test
    void ggufAndHfDirectoryGiveTheSameLogits() {
        SafeTensors ref = SafeTensors.open(Shared.path("models/tinylm-12l/reference.safetensors"));
        int[] ids = ref.get("ids").toInts();
        // float activations: with 8-bit ones (the native prefill) these two models, 6e-7 apart in float, measured 0.7%
        // apart, as far as 8-bit from float activations are (0.8%): a rounding step taken one way or the other, not RoPE
        Kernels.setActivations(Kernels.Activations.F32);
        float[] fromGguf, fromHf;
        try {
            fromGguf = logits(gguf, ids);
            fromHf = logits(hf, ids);
        } finally {
            Kernels.setActivations(Kernels.Activations.Q8);
        }
        assertThat(ParityAssert.relativeError(fromGguf, 0, fromHf, 0, fromHf.length)).isLessThanOrEqualTo(1e-4); // measured 6.0e-7
        // the scaling is not a no-op: the unscaled Q8_0 file's logits are far from these
        float[] unscaled = logits(ModelLoader.load(GGUF_DIR.resolve("tinylm-12l-q8_0.gguf")), ids);
        assertThat(ParityAssert.relativeError(unscaled, 0, fromHf, 0, fromHf.length)).isGreaterThan(0.05); // measured 0.128
    }

    @Test
    void greedyTextIsTheSameAndStartsAsLlamaCpp() {
        String prompt = "Once upon a time";
        String ggufText = greedy(gguf, prompt, 32);
        assertThat(greedy(hf, prompt, 32)).isEqualTo(ggufText);
        // llama.cpp quantizes activations to 8 bits in its matmuls, yet its 32 greedy tokens for this file are ours
        assertThat(ggufText).isEqualTo(Json.read(GGUF_DIR.resolve("llama-cpp-reference.json")).get("greedy_32").get(LLAMA31).asText());
    }

    private static String greedy(Model model, String prompt, int tokens) {
        int[] ids = model.requireTokenizer().encodeWithSpecial(prompt);
        Generator.Result r = Generator.generate(model.transformer(), SkipPolicy.NONE, ids, tokens, ids.length + tokens,
                new Sampler(Sampler.Settings.GREEDY, model.config().vocabSize()), new int[0], (id, layers) -> true);
        return prompt + model.requireTokenizer().decode(r.ids());
    }

    @Test
    void wikitextPerplexityIsNoWorseThanLlamaCpp() throws IOException {
        JsonNode reference = Json.read(GGUF_DIR.resolve("llama-cpp-reference.json"));
        double llamaCpp = reference.get("wikitext_ppl").get(LLAMA31).asDouble();
        // llama-perplexity -c 256 --chunks 60: BOS + the file's tokens; a prefix of the text gives the same first tokens
        String text = Files.readString(Shared.path("data/text/misc/wikitext2_raw_test_hf.txt"));
        int[] tokens = Prompts.withBos(gguf.requireTokenizer(), gguf.requireTokenizer().encode(text.substring(0, 70_000)));
        assertThat(tokens.length).isGreaterThan(60 * 256);
        double ppl = Perplexity.chunks(new TransformerScorer(gguf.transformer(), SkipPolicy.NONE, 256), tokens, gguf.requireTokenizer().bosId(),
                256, 60, null).ppl();
        // measured 58.825 against llama.cpp's 58.844
        assertThat(ppl).isBetween(llamaCpp * 0.995, llamaCpp * 1.001);
    }
}
