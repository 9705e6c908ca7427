package org.flexidepth4j.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.flexidepth4j.load.MoeFiles.Shape;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.MoeConfig;
import org.flexidepth4j.model.ParityAssert;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * Mixture-of-experts models ({@link MoeFiles}) against llama.cpp on the same GGUF files (src/test/resources/moe:
 * the last prompt position's logits and 16 greedy tokens), and the HF form of each against its GGUF form. llama.cpp
 * at our reference commit has no qwen3moe: that shape is checked HF against GGUF and by a routing worked by hand.
 */
class MoeModelTest {
    private static final int GREEDY = 16;

    @ParameterizedTest
    @EnumSource(value = Shape.class, names = {"MIXTRAL", "OLMOE", "QWEN2MOE"})
    void logitsAndGreedyTokensMatchLlamaCpp(Shape shape) throws IOException {
        Model model = ModelLoader.load(MoeFiles.gguf(shape));
        String name = shape.name().toLowerCase();
        int[] prompt = reference("prompt");
        Transformer t = model.transformer();
        InferenceState s = t.newState(prompt.length + GREEDY);
        t.forward(s, prompt, 0, prompt.length, SkipPolicy.NONE, false);
        assertThat(ParityAssert.relativeError(s.logits(), 0, logits(name), 0, model.config().vocabSize())).as(name + " logits").isLessThan(1e-4);
        assertThat(greedy(t, s)).as(name + " greedy ids").containsExactly(reference(name));
    }

    @ParameterizedTest
    @EnumSource(Shape.class)
    void hfDirectoryGivesTheLogitsOfTheGgufFile(Shape shape, @TempDir Path tmp) throws IOException {
        Model gguf = ModelLoader.load(MoeFiles.gguf(shape));
        Model hf = ModelLoader.load(MoeFiles.writeHf(shape, tmp.resolve("hf")));
        assertThat(hf.config().moe()).isEqualTo(gguf.config().moe());
        int[] prompt = reference("prompt");
        float[] want = allLogits(gguf, prompt), got = allLogits(hf, prompt);
        assertThat(ParityAssert.relativeError(got, 0, want, 0, want.length)).isLessThan(1e-5);
    }

    @Test
    void olderMixtralFilesWithOneTensorPerExpertGiveTheSameLogits(@TempDir Path tmp) throws IOException {
        Model stacked = ModelLoader.load(MoeFiles.gguf(Shape.MIXTRAL));
        Model split = ModelLoader.load(MoeFiles.writeGguf(Shape.MIXTRAL, tmp.resolve("split.gguf"), true));
        int[] prompt = reference("prompt");
        float[] want = allLogits(stacked, prompt), got = allLogits(split, prompt);
        // the same arithmetic; only a decode dot's lane sum may differ between the interpreter and compiled code
        assertThat(ParityAssert.relativeError(got, 0, want, 0, want.length)).isLessThan(1e-6);
    }

    @Test
    void routingOfEachConventionWorkedByHand() {
        float[] logits = {1f, 3f, 2f, 0f};
        double z = Math.exp(1) + Math.exp(3) + Math.exp(2) + Math.exp(0);
        int[] chosen = new int[2];
        float[] weights = new float[2], probs = new float[4];
        // OLMoE, Qwen2-MoE: softmax over all four, the top two keep their probabilities
        new MoeConfig(4, 2, 8, false, 0).route(logits, 0, probs, chosen, weights, 0);
        assertThat(chosen).containsExactly(1, 2);
        assertThat(weights[0]).isCloseTo((float) (Math.exp(3) / z), org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(weights[1]).isCloseTo((float) (Math.exp(2) / z), org.assertj.core.data.Offset.offset(1e-6f));
        // Mixtral, Qwen3-MoE: renormalised over the chosen two = a softmax over their logits
        new MoeConfig(4, 2, 8, true, 0).route(logits, 0, probs, chosen, weights, 0);
        assertThat(weights[0]).isCloseTo((float) (Math.exp(3) / (Math.exp(3) + Math.exp(2))), org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(weights[1]).isCloseTo((float) (Math.exp(2) / (Math.exp(3) + Math.exp(2))), org.assertj.core.data.Offset.offset(1e-6f));
    }

    @Test
    void decodeRunsOnlyTheChosenExpertsAndCountsThem() throws IOException {
        Model model = ModelLoader.load(MoeFiles.gguf(Shape.QWEN3MOE));
        Transformer t = model.transformer();
        int[] prompt = reference("prompt");
        InferenceState s = t.newState(prompt.length + 1);
        t.forward(s, prompt, 0, prompt.length, SkipPolicy.NONE, false);
        s.work.reset();
        t.forward(s, new int[] {42}, 0, 1, SkipPolicy.NONE, false);
        int d = MoeFiles.HIDDEN, qd = MoeFiles.HEADS * MoeFiles.HEAD_DIM, kvd = 2 * MoeFiles.HEAD_DIM, positions = prompt.length + 1;
        long attention = (long) d * qd * 2 + 2L * d * kvd + 2L * positions * qd;
        long expert = 3L * d * MoeFiles.EXPERT_FF;
        for (int l = 0; l < MoeFiles.LAYERS; l++) {
            assertThat(s.work.expertRuns(l)).isEqualTo(MoeFiles.PER_TOKEN);
            assertThat(s.work.layer(l)).isEqualTo(attention + (long) d * MoeFiles.EXPERTS + MoeFiles.PER_TOKEN * expert);
        }
    }

    @Test
    void badExpertSettingsAreOneLineErrors() {
        assertHfRefused("\"num_experts\": 4, \"num_experts_per_tok\": 5", "config.json: experts per token 5 is outside 1..4 (the expert count)");
        assertHfRefused("\"num_experts_per_tok\": 2", "config.json: missing or invalid key 'num_experts'");
        assertHfRefused("\"num_experts\": 4, \"num_experts_per_tok\": 2, \"mlp_only_layers\": [0]", "config.json: dense layers between the MoE layers");
        assertHfRefused("\"num_experts\": 4, \"num_experts_per_tok\": 2, \"clip_qkv\": 8.0", "config.json: clip_qkv");
    }

    private static void assertHfRefused(String keys, String message) {
        String json = "{\"model_type\": \"qwen3_moe\", \"hidden_size\": 64, \"intermediate_size\": 128, \"moe_intermediate_size\": 32, "
                + "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 100, " + keys + "}";
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HfConfig.parse(Path.of("config.json"), org.flexidepth4j.io.Json.MAPPER.readTree(json)))
                .isInstanceOf(org.flexidepth4j.io.FormatException.class).hasMessageStartingWith(message).hasMessageNotContaining("\n");
    }

    private static float[] allLogits(Model m, int[] prompt) {
        InferenceState s = m.transformer().newState(prompt.length);
        m.transformer().forward(s, prompt, 0, prompt.length, SkipPolicy.NONE, true);
        return Arrays.copyOf(s.logits(), prompt.length * m.config().vocabSize());
    }

    private static int[] greedy(Transformer t, InferenceState s) {
        int[] out = new int[GREEDY];
        for (int g = 0; g < GREEDY; g++) {
            float[] logits = s.logitsRow(0);
            int best = 0;
            for (int v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
            out[g] = best;
            t.forward(s, new int[] {best}, 0, 1, SkipPolicy.NONE, false);
        }
        return out;
    }

    /** A line "key: id,id,..." of llama-cpp-greedy.txt. */
    private static int[] reference(String key) throws IOException {
        List<String> lines = new String(resource("llama-cpp-greedy.txt"), StandardCharsets.UTF_8).lines().toList();
        String line = lines.stream().filter(x -> x.startsWith(key + ": ")).findFirst().orElseThrow();
        return Arrays.stream(line.substring(key.length() + 2).split(",")).mapToInt(Integer::parseInt).toArray();
    }

    private static float[] logits(String name) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(resource(name + ".logits")).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = MoeModelTest.class.getResourceAsStream("/moe/" + name)) {
            return in.readAllBytes();
        }
    }
}
