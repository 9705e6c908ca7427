package org.flexidepth4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Token ids against reference tokenizers' own outputs (llama.cpp test vocabularies, run.c, HF). */
class TokenizerGoldenTest {
    private static int[] ints(JsonNode n) {
        int[] a = new int[n.size()];
        for (int i = 0; i < a.length; i++) a[i] = n.get(i).asInt();
        return a;
    }

    @ParameterizedTest
    @ValueSource(strings = {"ggml-vocab-gpt-2", "ggml-vocab-llama-spm", "ggml-vocab-gpt-2:models/gpt2-tokenizer"})
    void llamaCppVocabularies(String spec) throws Exception {
        // "name" checks the GGUF itself; "name:dir" checks another tokenizer against that GGUF's expected ids
        String name = spec.split(":")[0];
        Path gguf = Shared.path("models/ggml-vocab/" + name + ".gguf");
        Tokenizer tok = SharedTokenizers.get(spec.contains(":") ? spec.split(":")[1] : "models/ggml-vocab/" + name + ".gguf");
        String inp = Files.readString(Path.of(gguf + ".inp"));
        List<String> lines = Files.readAllLines(Path.of(gguf + ".out"));
        String[] texts = inp.split("\n__ggml_vocab_test__\n", -1);
        List<String> cases = new ArrayList<>(Arrays.asList(texts));
        if (cases.getLast().isEmpty()) cases.removeLast();
        assertThat(cases).hasSize(46);
        assertThat(lines).hasSize(46);
        for (int i = 0; i < cases.size(); i++) {
            String text = cases.get(i);
            int[] expected = lines.get(i).isBlank() ? new int[0] : Arrays.stream(lines.get(i).trim().split(" ")).mapToInt(Integer::parseInt).toArray();
            assertThat(tok.encode(text)).as("case %d: [%s]", i, text).containsExactly(expected);
        }
    }

    @Test
    void tinylmHfTokenizer() {
        Path dir = Shared.path("models/tinylm-12l");
        Tokenizer tok = Tokenizers.fromHfDirectory(dir);
        assertThat(tok.encode("Once upon a time")).containsExactly(5666, 581, 261, 539);
        JsonNode ref = Json.read(dir.resolve("reference.json"));
        for (JsonNode g : ref.path("greedy")) {
            assertThat(tok.encodeWithSpecial(g.path("prompt").asText())).containsExactly(ints(g.path("input_ids")));
        }
        assertThat(tok.bosId()).isZero();
        assertThat(tok.eosIds()).containsExactly(0);
        assertThat(tok.encode("<|im_start|>user\nhi<|im_end|>")).startsWith(1).endsWith(2);
        assertThat(tok.decode(tok.encode("Hello,  world!\n\tIt's 2024 ünïcödé 😀"))).isEqualTo("Hello,  world!\n\tIt's 2024 ünïcödé 😀");
        assertThat(tok.chatTemplate()).contains("<|im_start|>");
    }

    @Test
    void tinylmGgufTokenizerMatchesHf() {
        Tokenizer hf = SharedTokenizers.get("models/tinylm-12l");
        Tokenizer gguf = Tokenizers.load(Shared.path("models/tinylm-12l-gguf/tinylm-12l-q4_0.gguf"));
        String text = "Once upon a time, there was a little dog named Max. He liked to run and play!\n\n  It's 3.14159 o'clock";
        assertThat(gguf.encode(text)).containsExactly(hf.encode(text));
        assertThat(gguf.encodeWithSpecial("Once upon a time")).containsExactly(0, 5666, 581, 261, 539);
        assertThat(gguf.decode(gguf.encode(text))).isEqualTo(text);
    }

    @Test
    void llama2cTokenizerBinMatchesRunC() throws Exception {
        Tokenizer tok = SharedTokenizers.get("models/stories260K/tok512.bin");
        JsonNode ref = Json.read(Shared.path("models/stories260K/stories260K_ppl_reference_tinystories_part1.json")).path("result");
        String text = Files.readString(Shared.path("data/text/tinystories/" + ref.path("file").asText()));
        List<String> paragraphs = new ArrayList<>();
        for (String p : text.split("\n\n")) {
            String s = p.replaceAll("^\n+|\n+$", "");
            if (!s.isEmpty()) paragraphs.add(s);
        }
        assertThat(paragraphs).hasSize(ref.path("paragraphs").asInt());
        for (JsonNode fp : ref.path("first_paragraphs")) {
            int[] ids = tok.encodeWithSpecial(paragraphs.get(fp.path("paragraph_index").asInt()));
            assertThat(Arrays.copyOf(ids, Math.min(256, ids.length))).containsExactly(ints(fp.path("tokens")));
        }
        long predicted = 0;
        for (String p : paragraphs) predicted += Math.min(256, tok.encodeWithSpecial(p).length) - 1;
        assertThat(predicted).isEqualTo(ref.path("predicted_tokens").asLong());
        int[] ids = tok.encodeWithSpecial(paragraphs.get(0));
        assertThat(tok.decode(ids)).isEqualTo("\n<s>\n" + paragraphs.get(0));
        assertThat(tok.decode(Arrays.copyOfRange(ids, 1, ids.length))).isEqualTo(paragraphs.get(0));
        assertThat(tok.encode("")).isEmpty();
    }

    @Test
    void llama2TokenizerBinByteFallback() {
        Tokenizer tok = SharedTokenizers.get("models/llama2-tokenizer/tokenizer.bin");
        assertThat(tok.vocabSize()).isEqualTo(32000);
        // "Hello world" is [15043, 3186] in Llama-2's SentencePiece model
        assertThat(tok.encode("Hello world")).containsExactly(15043, 3186);
        String s = "Ünïcode 日本語 😀 tabs\tand\nnewlines";
        int[] ids = tok.encode(s);
        assertThat(tok.decode(ids)).isEqualTo(s);
    }
}
