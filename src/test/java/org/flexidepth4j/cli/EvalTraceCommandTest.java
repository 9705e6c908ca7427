package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `flexidepth eval` and `flexidepth trace` wire options through to the eval package. */
class EvalTraceCommandTest {
    static final Path DIR = Shared.path("models/stories260K");
    /** The 5-layer stories260K model with its tokenizer: small enough for a quick end-to-end run. */
    static final String[] MODEL = {"--model", DIR.resolve("stories260K.bin").toString(), "--tokenizer", DIR.resolve("tok512.bin").toString()};

    static String[] args(String command, String... rest) {
        String[] a = new String[1 + MODEL.length + rest.length];
        a[0] = command;
        System.arraycopy(MODEL, 0, a, 1, MODEL.length);
        System.arraycopy(rest, 0, a, 1 + MODEL.length, rest.length);
        return a;
    }

    @Test
    void evalWritesReportAndHonoursSkipMode(@TempDir Path tmp) throws Exception {
        Path items = tmp.resolve("mine.jsonl");
        Files.writeString(items, """
                {"query": "Question: What do plants need to grow?", "choices": ["sunlight", "plastic"], "gold": 0}
                {"query": "Question: What is frozen water?", "choices": ["steam", "ice", "sand"], "gold": 1}
                {"query": "Question: never scored", "choices": ["a", "b"], "gold": 1}
                """);
        Cli r = Cli.run(args("eval", "--tasks", "arc_easy.mine=" + items, "--limit", "2", "--skip", "exit:3",
                "--out", tmp.resolve("out").toString(), "--no-progress", "--data-dir", tmp.toString()));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("arc_easy.mine").contains("layers/token=3.00");
        JsonNode row = Json.read(tmp.resolve("out/results.json")).get("results").get(0);
        assertThat(row.get("n").asInt()).isEqualTo(2);
        assertThat(row.get("layers_per_token").asDouble()).isEqualTo(3.0);
        assertThat(Files.readString(tmp.resolve("out/report.md"))).contains("| arc_easy.mine | 2 |");

        Cli bad = Cli.run(args("eval", "--tasks", "nosuch", "--no-progress"));
        assertThat(bad.code()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(bad.err()).contains("unknown task 'nosuch'");
    }

    @Test
    void traceWritesTheDataset(@TempDir Path tmp) throws Exception {
        Path text = tmp.resolve("t.txt");
        Files.writeString(text, "Once upon a time there was a cat.\n\nThe cat sat.\n");
        Cli r = Cli.run(args("trace", "--file", text.toString(), "--generate", "3", "--out", tmp.resolve("tr").toString(), "--no-progress"));
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = Json.read(tmp.resolve("tr/summary.json"));
        assertThat(s.get("docs").asInt()).isEqualTo(2);
        assertThat(s.get("mean_layers_used").asDouble()).isEqualTo(5.0);
        for (String f : new String[] {"tokens.jsonl.gz", "layers.html", "heatmap.png", "skip_by_layer.png"}) assertThat(tmp.resolve("tr/" + f)).exists();
        assertThat(Cli.run(args("trace", "--out", tmp.toString())).code()).isEqualTo(Main.EXIT_USAGE);
    }
}
