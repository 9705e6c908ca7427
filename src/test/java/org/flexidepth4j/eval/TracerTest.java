package org.flexidepth4j.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import javax.imageio.ImageIO;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TracerTest {
    /** Routes layers 2 and 3: even positions run (gate 0.7), odd ones skip (gate 0.2). */
    static final SkipPolicy EVEN_POSITIONS = new SkipPolicy() {
        @Override
        public Plan plan(int layer) {
            return layer == 2 || layer == 3 ? Plan.ROUTED : layer == 5 ? Plan.REMOVED : Plan.DENSE;
        }

        @Override
        public void route(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, org.flexidepth4j.model.WorkCounter work) {
            for (int t = 0; t < tokens; t++) {
                run[t] = positions[t] % 2 == 0;
                gate[t] = run[t] ? 0.7f : 0.2f;
            }
        }
    };

    @Test
    void categoriesOfHandMadePieces() {
        String[] pieces = {"<s>", "Hello", " wor", "ld", ",", " ", "42", " 7", "\n", "!?", " the", "'s", "x"};
        String[] want = {"special", "word_start", "word_start", "continuation", "punctuation", "whitespace", "digit", "digit", "whitespace",
                "punctuation", "word_start", "other", "continuation"};
        String prev = "";
        for (int i = 0; i < pieces.length; i++) {
            assertThat(TraceSummary.category(pieces[i], prev, i == 0)).as(pieces[i]).isEqualTo(want[i]);
            prev = i == 0 ? "" : pieces[i];
        }
        assertThat(TraceSummary.category("ing", "walk", false)).isEqualTo("continuation");
        assertThat(TraceSummary.category("ing", "walk ", false)).isEqualTo("word_start");
    }

    @Test
    void repeatedTrigramsAndSummaryMeans() {
        boolean[] rep = TraceSummary.repeatedNgrams(new int[] {1, 2, 3, 4, 1, 2, 3, 5, 2, 3, 5});
        assertThat(rep).containsExactly(false, false, false, false, false, false, true, false, false, false, true);
        boolean[] all = {true, true, true}, skip1 = {true, false, true};
        List<TraceRow> rows = List.of(
                new TraceRow(0, 0, 1, "<s>", "<s>", false, new float[3], all, 3, "special", false),
                new TraceRow(0, 1, 5, "a", "a", false, new float[3], skip1, 2, "word_start", false),
                new TraceRow(0, 2, 6, "b", "b", false, new float[3], skip1, 2, "continuation", true),
                new TraceRow(1, 20, 5, "a", " a", true, new float[3], all, 3, "word_start", false));
        TraceSummary s = TraceSummary.of(rows, 3, List.of(1));
        assertThat(s.meanLayers()).isEqualTo(2.5);
        assertThat(s.docs()).isEqualTo(2);
        assertThat(s.byCategory().get("word_start")).isEqualTo(new TraceSummary.Stat(2, 2.5));
        assertThat(s.byCategory().get("continuation")).isEqualTo(new TraceSummary.Stat(1, 2.0));
        assertThat(s.byRepetition().get("repeated_ngram")).isEqualTo(new TraceSummary.Stat(1, 2.0));
        assertThat(s.byOrigin().get("generated")).isEqualTo(new TraceSummary.Stat(1, 3.0));
        assertThat(s.byPosition().get("1-15")).isEqualTo(new TraceSummary.Stat(2, 2.0));
        assertThat(s.byPosition().get("16-63").count()).isEqualTo(1);
        assertThat(s.skipRate()).containsExactly(0.0, 0.5, 0.0);
    }

    @Test
    void traceWritesDatasetPageAndCharts(@TempDir Path dir) throws Exception {
        Path text = dir.resolve("docs.txt");
        Files.writeString(text, "ab ab ab <&>\n\nxyz\n");
        Model fixture = ModelLoader.load(Shared.path("fixtures/hf-parity/llama3"));
        Model model = new Model(fixture.source(), "hf", fixture.transformer(), new CharTokenizer(), SkipPolicy.NONE);
        Path out = dir.resolve("trace");
        TraceSummary s = Tracer.run(new TraceConfig(model, EVEN_POSITIONS, text, null, 3, out, 0, 64, false));

        // BOS + 12 characters + 3 generated, BOS + 3 characters + 3 generated (the char test tokenizer's EOS is never argmax here)
        List<JsonNode> rows = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(Files.newInputStream(out.resolve("tokens.jsonl.gz"))), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) rows.add(Json.MAPPER.readTree(line));
        }
        assertThat(rows).hasSize(16 + 7);
        assertThat(s.tokens()).isEqualTo(23);
        JsonNode first = rows.get(1);
        assertThat(first.get("doc").asInt()).isZero();
        assertThat(first.get("pos").asInt()).isEqualTo(1);
        assertThat(first.get("text").asText()).isEqualTo("a");
        assertThat(first.get("generated").asBoolean()).isFalse();
        // odd position: skips routed layers 2 and 3, and removed layer 5 -> 3 layers; gates of routed layers only
        assertThat(first.get("gates").size()).isEqualTo(2);
        assertThat(first.get("gates").get(0).asDouble()).isCloseTo(0.2, within(1e-4));
        assertThat(first.get("layers_used").asInt()).isEqualTo(3);
        assertThat(first.get("skipped_layers").toString()).isEqualTo("[2,3,5]");
        assertThat(rows.get(2).get("layers_used").asInt()).isEqualTo(5);
        assertThat(rows.get(15).get("generated").asBoolean()).isTrue();
        assertThat(rows.get(16).get("doc").asInt()).isEqualTo(1);
        // "ab ab ab": the second " ab" completes the trigram "b", " ", "a"... repeated from position 5 on
        assertThat(rows.get(6).get("repeated_ngram").asBoolean()).isTrue();
        assertThat(rows.get(3).get("repeated_ngram").asBoolean()).isFalse();

        JsonNode summary = Json.read(out.resolve("summary.json"));
        assertThat(summary.get("routed_layers").toString()).isEqualTo("[2,3]");
        double oddShare = rows.stream().filter(n -> n.get("pos").asInt() % 2 == 1).count() / 23.0;
        assertThat(summary.get("skip_rate_by_layer").get("2").asDouble()).isCloseTo(oddShare, within(1e-12));
        assertThat(summary.get("skip_rate_by_layer").get("5").asDouble()).isEqualTo(1.0);
        assertThat(summary.get("skip_rate_by_layer").get("0").asDouble()).isEqualTo(0.0);
        assertThat(summary.get("by_category").get("whitespace").get("count").asInt()).isGreaterThan(0);

        String html = Files.readString(out.resolve("layers.html"));
        assertThat(html).startsWith("<!DOCTYPE html>").contains("<svg", "class=\"legend\"", "<table>", "L2 gate 0.200 skipped", "L5 removed", ">&lt;</span>", ">&amp;</span>")
                .contains("class=\"bar\"").doesNotContain("http://", "https://", "<script", "<link", "@import", "src=");
        assertThat(html.split("class=\"t").length - 1).isEqualTo(23 + 1); // token spans plus the legend sample

        for (String png : new String[] {"heatmap.png", "skip_by_layer.png"}) {
            byte[] bytes = Files.readAllBytes(out.resolve(png));
            assertThat(bytes).startsWith(0x89, 'P', 'N', 'G');
            BufferedImage img = ImageIO.read(out.resolve(png).toFile());
            assertThat(img).as(png).isNotNull();
            assertThat(img.getWidth()).isGreaterThanOrEqualTo(500);
        }
    }

    @Test
    void promptsFileAndBadInput(@TempDir Path dir) throws Exception {
        Path prompts = dir.resolve("p.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"hi\"}\n{\"prompt\": \"yo!\"}\n");
        Model fixture = ModelLoader.load(Shared.path("fixtures/hf-parity/llama3"));
        Model model = new Model(fixture.source(), "hf", fixture.transformer(), new CharTokenizer(), SkipPolicy.NONE);
        TraceSummary s = Tracer.run(new TraceConfig(model, SkipPolicy.NONE, null, prompts, 0, dir.resolve("o"), 1, 64, false));
        assertThat(s.tokens()).isEqualTo(3);
        assertThat(s.meanLayers()).isEqualTo(6.0);
        assertThat(s.routedLayers()).isEmpty();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new TraceConfig(model, SkipPolicy.NONE, prompts, prompts, 0, dir, 0, 64, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exactly one");
    }
}
