package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Commands that go through a tokenizer: tokenize, generate from text (stop strings, chat), perplexity. */
class CliTextTest {
    static final Path TINY = Shared.path("models/tinylm-12l");
    static final JsonNode REF = Json.read(TINY.resolve("reference.json")).get("greedy").get(0); // "Once upon a time"

    static List<Integer> ints(JsonNode array) {
        List<Integer> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asInt()));
        return out;
    }

    @Test
    void tokenizeMatchesReferenceIds() {
        List<Integer> withBos = ints(REF.get("input_ids"));
        Cli plain = Cli.run("tokenize", "--model", TINY.toString(), "--text", "Once upon a time", "--json");
        assertThat(plain.code()).as(plain.err()).isZero();
        assertThat(ints(CliTest.parse(plain.out()).get("ids"))).isEqualTo(withBos.subList(1, withBos.size()));
        Cli special = Cli.run("tokenize", "--model", TINY.toString(), "--text", "Once upon a time", "--special", "--json");
        assertThat(ints(CliTest.parse(special.out()).get("ids"))).isEqualTo(withBos);
        Cli listing = Cli.run("tokenize", "--model", TINY.toString(), "--text", "a\nb");
        assertThat(listing.out().lines()).hasSize(3).allMatch(l -> l.matches("\\d+\t.*"));
    }

    @Test
    void greedyTextStopsBeforeTheStopString() {
        Cli r = Cli.run("generate", "--model", TINY.toString(), "--prompt", "Once upon a time", "--temperature", "0",
                "--max-tokens", "48", "--stop", " named", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = CliTest.parse(r.out());
        var tok = Tokenizers.load(TINY);
        int[] greedy = ints(REF.get("output_ids")).stream().mapToInt(Integer::intValue).toArray();
        String full = tok.decode(greedy);
        assertThat(full).contains(" named");
        assertThat(j.get("text").asText()).isEqualTo(full.substring(0, full.indexOf(" named")));
        assertThat(j.get("stop").asText()).isEqualTo("stop");
        assertThat(ints(j.get("ids"))).isEqualTo(ints(REF.get("output_ids")).subList(0, j.get("ids").size()));

        Cli streamed = Cli.run("generate", "--model", TINY.toString(), "--prompt", "Once upon a time", "--temperature", "0",
                "--max-tokens", "48", "--stop", " named");
        assertThat(streamed.out()).isEqualTo("Once upon a time" + j.get("text").asText() + System.lineSeparator());
    }

    @Test
    void showLayersColoursEachTokenByLayersUsed() {
        String all = GenerateCommand.coloured(new org.flexidepth4j.api.Token(7, "a", 12), 12);
        String few = GenerateCommand.coloured(new org.flexidepth4j.api.Token(8, " b", 3), 12);
        assertThat(all).isEqualTo(LayerColors.start(12, 12) + "a" + LayerColors.RESET);
        assertThat(few).isEqualTo(LayerColors.start(3, 12) + " b" + LayerColors.RESET);
        assertThat(LayerColors.start(12, 12)).isNotEqualTo(LayerColors.start(3, 12));
    }

    @Test
    void chatRendersTheTemplate() {
        Cli r = Cli.run("generate", "--model", TINY.toString(), "--prompt", "Hello", "--chat", "--temperature", "0",
                "--max-tokens", "1", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        int want = Tokenizers.load(TINY).encode("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n").length;
        assertThat(CliTest.parse(r.out()).get("prompt_tokens").asInt()).isEqualTo(want);
    }

    @Test
    void paragraphPerplexityMatchesLlama2cReference(@TempDir Path tmp) throws IOException {
        // The first three paragraphs of the reference file, scored as in the reference protocol.
        Path dir = Shared.path("models/stories260K");
        JsonNode ref = Json.read(dir.resolve("stories260K_ppl_reference_tinystories_part1.json")).get("result");
        String text = Files.readString(Shared.path("data/text/tinystories/" + ref.get("file").asText()));
        List<String> paragraphs = org.flexidepth4j.eval.EvalData.paragraphs(text).subList(0, 3);
        Path file = tmp.resolve("three.txt");
        Files.writeString(file, String.join("\n\n", paragraphs));
        double sum = 0;
        int tokens = 0;
        for (JsonNode p : ref.get("first_paragraphs")) {
            sum += p.get("sum_nll").asDouble();
            tokens += p.get("nll_per_token").size();
        }
        Cli r = Cli.run("perplexity", "--model", dir.resolve("stories260K.bin").toString(), "--tokenizer", dir.resolve("tok512.bin").toString(),
                "--file", file.toString(), "--split-paragraphs", "--max-tokens", "256", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = CliTest.parse(r.out());
        assertThat(j.get("tokens").asInt()).isEqualTo(tokens);
        assertThat(j.get("mean_nll").asDouble()).isCloseTo(sum / tokens, within(1e-4));
        assertThat(j.get("perplexity").asDouble()).isCloseTo(Math.exp(sum / tokens), within(1e-3));
        assertThat(j.get("mean_layers_used").asDouble()).isEqualTo(5.0);
        assertThat(j.get("mean_layers_skipped").asDouble()).isEqualTo(0.0);
    }
}
