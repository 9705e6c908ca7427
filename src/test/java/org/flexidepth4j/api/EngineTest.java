package org.flexidepth4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.junit.jupiter.api.Test;

/** The library API on tinylm-12l: reference greedy ids, streaming, stop reasons, chat, and concurrent use of one engine. */
class EngineTest {
    static final Path TINY = Shared.path("models/tinylm-12l");
    static final JsonNode GREEDY_REF = Json.read(TINY.resolve("reference.json")).get("greedy");
    static final Engine ENGINE = Engine.load(TINY);

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    static String streamedText(List<Token> tokens) {
        StringBuilder b = new StringBuilder();
        tokens.forEach(t -> b.append(t.text()));
        return b.toString();
    }

    @Test
    void greedyMatchesTheReferenceAndStreamsTheResultText() {
        JsonNode ref = GREEDY_REF.get(0); // "Once upon a time", 48 tokens with no EOS
        List<Token> tokens = new ArrayList<>();
        GenerationResult r = ENGINE.generate(ref.get("prompt").asText(), GenerationOptions.GREEDY.toBuilder().maxTokens(48).build(), tokens::add);
        assertThat(r.ids()).isEqualTo(ints(ref.get("output_ids")));
        assertThat(r.stopReason()).isEqualTo(StopReason.LENGTH);
        assertThat(r.text()).isEqualTo(ENGINE.decode(r.ids()));
        assertThat(streamedText(tokens)).isEqualTo(r.text());
        assertThat(tokens).extracting(Token::id).containsExactlyElementsOf(java.util.Arrays.stream(r.ids()).boxed().toList());
        assertThat(r.numLayers()).isEqualTo(12);
        assertThat(r.layersUsed()).hasSize(48).containsOnly(12); // no router: dense
        assertThat(tokens).extracting(Token::layersUsed).containsOnly(12);
        assertThat(r.timings().promptTokens()).isEqualTo(ref.get("input_ids").size());
        assertThat(r.timings().decodeSteps()).isEqualTo(47);
        assertThat(r.timings().decodeTokensPerSecond()).isPositive();
    }

    @Test
    void stopsOnEos() {
        JsonNode ref = GREEDY_REF.get(3); // "In the beginning": EOS (id 0) after 17 tokens
        int[] want = ints(ref.get("output_ids"));
        GenerationResult r = ENGINE.newGeneration(ints(ref.get("input_ids")), GenerationOptions.GREEDY.toBuilder().maxTokens(48).build())
                .run(TokenListener.NONE);
        assertThat(r.stopReason()).isEqualTo(StopReason.EOS);
        assertThat(r.ids()).hasSize(17).endsWith(0);
        assertThat(r.ids()).isEqualTo(java.util.Arrays.copyOf(want, 17));
    }

    @Test
    void stopStringEndsTheTextRightBeforeIt() {
        JsonNode ref = GREEDY_REF.get(0);
        String full = ENGINE.decode(ints(ref.get("output_ids")));
        assertThat(full).contains(" named");
        List<Token> tokens = new ArrayList<>();
        GenerationResult r = ENGINE.generate(ref.get("prompt").asText(), GenerationOptions.GREEDY.toBuilder().maxTokens(48).stop(" named").build(), tokens::add);
        assertThat(r.stopReason()).isEqualTo(StopReason.STOP);
        assertThat(r.text()).isEqualTo(full.substring(0, full.indexOf(" named")));
        assertThat(streamedText(tokens)).isEqualTo(r.text());
    }

    @Test
    void cancelStopsAfterTheCurrentToken() {
        Generation g = ENGINE.newGeneration(ENGINE.encode("Once upon a time"), GenerationOptions.builder().seed(7).maxTokens(40).build());
        int[] seen = {0};
        GenerationResult r = g.run(t -> {
            if (++seen[0] == 3) g.cancel();
        });
        assertThat(r.stopReason()).isEqualTo(StopReason.CANCELLED);
        assertThat(r.ids()).hasSize(3);
        assertThatThrownBy(() -> g.run(TokenListener.NONE)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void concurrentGenerationsOnOneEngineEqualSequentialOnes() throws Exception {
        List<String> prompts = List.of("Once upon a time", "The old man looked at the sea", "It was a sunny day", "Tom and Lily");
        List<GenerationOptions> options = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) options.add(GenerationOptions.builder().seed(100 + i).temperature(0.9).maxTokens(24).build());
        List<GenerationResult> sequential = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) sequential.add(ENGINE.generate(prompts.get(i), options.get(i)));
        List<Future<GenerationResult>> parallel = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(prompts.size())) {
            for (int i = 0; i < prompts.size(); i++) {
                int k = i;
                parallel.add(pool.submit(() -> ENGINE.generate(prompts.get(k), options.get(k))));
            }
        }
        for (int i = 0; i < prompts.size(); i++) {
            assertThat(parallel.get(i).get().ids()).isEqualTo(sequential.get(i).ids());
            assertThat(parallel.get(i).get().text()).isEqualTo(sequential.get(i).text());
        }
    }

    @Test
    void aSeedReproducesItsSample() {
        GenerationResult fresh = ENGINE.generate("Once upon a time", GenerationOptions.builder().maxTokens(16).build());
        GenerationResult again = ENGINE.generate("Once upon a time", GenerationOptions.builder().maxTokens(16).seed(fresh.seed()).build());
        assertThat(again.ids()).isEqualTo(fresh.ids());
    }

    @Test
    void chatRendersTheModelsTemplate() {
        List<ChatMessage> messages = List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hello"));
        String prompt = ENGINE.chatPrompt(messages);
        assertThat(prompt).isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
        GenerationResult r = ENGINE.chat(messages, GenerationOptions.GREEDY.toBuilder().maxTokens(4).build());
        assertThat(r.timings().promptTokens()).isEqualTo(ENGINE.model().requireTokenizer().encode(prompt).length);
    }

    @Test
    void skipModeAppliesPerGeneration() {
        GenerationResult r = ENGINE.generate("Once upon a time", GenerationOptions.GREEDY.toBuilder().maxTokens(5).skip("exit:4").build());
        assertThat(r.layersUsed()).containsOnly(4);
        assertThatThrownBy(() -> ENGINE.generate("x", GenerationOptions.GREEDY.toBuilder().skip("sometimes").build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown --skip mode");
    }

    @Test
    void eosIdsComeFromTheModelDirectory() {
        assertThat(Engine.load(Shared.path("fixtures/hf-parity/llama3")).eosIds()).containsExactly(2);
    }

    @Test
    void badOptionsAreRejectedWhenBuilt() {
        assertThatThrownBy(() -> GenerationOptions.builder().temperature(-1).build()).hasMessageContaining("temperature");
        assertThatThrownBy(() -> GenerationOptions.builder().topP(0).build()).hasMessageContaining("top-p");
        assertThatThrownBy(() -> GenerationOptions.builder().maxTokens(-1).build()).hasMessageContaining("max tokens");
        assertThatThrownBy(() -> Engine.loader().model(TINY).contextLength(0).load()).hasMessageContaining("context");
    }
}
