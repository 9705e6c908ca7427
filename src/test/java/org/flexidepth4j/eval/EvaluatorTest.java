package org.flexidepth4j.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvaluatorTest {
    static final Path DATA = Shared.path("data/eval");

    @Test
    void taskNamesMapToDefaultFilesAndNamedPaths(@TempDir Path dir) throws Exception {
        List<TaskSpec> specs = TaskSpec.parse("arc_easy, hellaswag,lambada_openai,mmlu_anatomy,wikitext", DATA);
        assertThat(specs).extracting(TaskSpec::label).containsExactly("arc_easy", "hellaswag", "lambada", "mmlu_anatomy", "wikitext");
        assertThat(specs.get(0).path()).isEqualTo(DATA.resolve("arc_easy_test.shared.jsonl"));
        assertThat(specs.get(1).format()).isEqualTo(TaskSpec.Format.HELLASWAG);
        assertThat(specs.get(4).path()).isEqualTo(Shared.path("data/text/misc/wikitext2_raw_test_hf.txt").normalize());
        Path f = dir.resolve("mine.jsonl");
        Files.writeString(f, "{\"query\": \"Question: 1+1?\", \"choices\": [\"2\", \"3\"], \"gold\": 0}\n");
        TaskSpec mine = TaskSpec.parse("arc_easy.mine=" + f, DATA).get(0);
        assertThat(mine.label()).isEqualTo("arc_easy.mine");
        assertThat(mine.querySuffix()).isEqualTo("\nAnswer:");
        assertThatThrownBy(() -> TaskSpec.parse("nosuch", DATA)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown task 'nosuch'");
        assertThatThrownBy(() -> TaskSpec.parse("mmlu_astrology", DATA)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no MMLU subject 'astrology'");
        assertThatThrownBy(() -> TaskSpec.parse("piqa", dir)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not found");
    }

    @Test
    void runsTasksAndWritesTheReport(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("mine.jsonl");
        Files.writeString(f, """
                {"query": "Question: one?", "choices": ["right", "wrong"], "gold": 0}
                {"query": "Question: two?", "choices": ["wrong", "right"], "gold": 1}
                {"query": "Question: three?", "choices": ["wrong", "right"], "gold": 0}
                """);
        FakeScorer fake = new FakeScorer((ctx, cont) -> cont.equals(" right") ? -1.0 : -2.0);
        Evaluator.Settings s = new Evaluator.Settings(0, null, 4096, 0, 16, false);
        List<TaskResult> rows = Evaluator.run(TaskSpec.parse("arc_easy.mine=" + f, DATA).get(0), fake, fake.tok, s);
        assertThat(rows).hasSize(1);
        assertThat(rows.get(0).acc()).isEqualTo(2.0 / 3);
        assertThat(fake.calls.get(0)).containsExactly("<s>Question: one?\nAnswer:", " right");
        // MMLU over one subject with --limit 2 and one shot
        List<TaskResult> mmlu = Evaluator.run(TaskSpec.parse("mmlu_anatomy", DATA).get(0), fake, fake.tok, new Evaluator.Settings(2, 1, 4096, 0, 16, false));
        assertThat(mmlu).hasSize(1);
        assertThat(mmlu.get(0).n()).isEqualTo(2);

        Report.write(dir.resolve("out"), Map.of("model", "fake"), rows);
        JsonNode json = Json.read(dir.resolve("out/results.json"));
        JsonNode row = json.get("results").get(0);
        assertThat(row.get("task").asText()).isEqualTo("arc_easy.mine");
        assertThat(row.get("n").asInt()).isEqualTo(3);
        assertThat(row.get("acc").asDouble()).isEqualTo(2.0 / 3);
        assertThat(row.has("acc_norm")).isTrue();
        assertThat(row.has("ppl")).isFalse();
        assertThat(row.get("layers_per_token").asDouble()).isEqualTo(3.0);
        assertThat(Files.readString(dir.resolve("out/report.md"))).contains("| arc_easy.mine | 3 | 0.6667 | 0.6667 |");
    }
}
