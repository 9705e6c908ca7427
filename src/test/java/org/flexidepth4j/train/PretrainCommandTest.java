package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.cli.Main;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.skip.BinaryRouters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `flexidepth pretrain` end to end with tinylm-12l's tokenizer; the output is a loadable model with its tokenizer. */
class PretrainCommandTest {
    @TempDir
    Path dir;

    private int run(StringWriter out, StringWriter err, String... args) {
        return Main.execute(new PrintWriter(out), new PrintWriter(err), args);
    }

    @Test
    void pretrainsAndTheOutputLoadsWithItsTokenizer() throws Exception {
        String text = Files.readString(Shared.path("data/text/tinystories/tinystories_train_head_cased_part1.txt")).substring(0, 4000);
        Path data = Files.writeString(dir.resolve("stories.txt"), text);
        Path cfg = Files.writeString(dir.resolve("cfg.json"), """
                {"model": {"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 32,
                           "max_position_embeddings": 64},
                 "router": {"dense_first_layers": 1},
                 "optimizer": {"lr": 0.003},
                 "data": {"files": ["unused.txt"], "seq_len": 32, "batch": 2, "val_sequences": 2},
                 "tokenizer": "%s", "steps": 100, "threads": 2}
                """.formatted(Shared.path("models/tinylm-12l")));
        Path out = dir.resolve("out");
        StringWriter o = new StringWriter(), e = new StringWriter();
        int code = run(o, e, "pretrain", "--config", cfg.toString(), "--data", data.toString(), "--steps", "3", "--out", out.toString(), "--no-progress");
        assertThat(code).as(e.toString()).isZero();
        assertThat(o.toString()).startsWith("pretrained 3 steps");
        Model m = ModelLoader.load(out);
        assertThat(m.tokenizer()).isNotNull();
        assertThat(m.config().vocabSize()).isEqualTo(m.tokenizer().vocabSize());
        assertThat(((BinaryRouters) m.defaultPolicy()).settings().layers()).containsExactly(1);
        assertThat(out.resolve("tokenizer_config.json")).exists();

        // resuming a finished run from its final checkpoint runs no step and rewrites the same model
        byte[] model = Files.readAllBytes(out.resolve("model.safetensors"));
        StringWriter o2 = new StringWriter(), e2 = new StringWriter();
        code = run(o2, e2, "pretrain", "--config", cfg.toString(), "--data", data.toString(), "--steps", "3", "--out", out.toString(), "--resume", out.toString(), "--no-progress");
        assertThat(code).as(e2.toString()).isZero();
        assertThat(o2.toString()).startsWith("pretrained 0 steps");
        assertThat(Files.readAllBytes(out.resolve("model.safetensors"))).isEqualTo(model);
        assertThat(Files.readAllLines(out.resolve("metrics.jsonl"))).hasSize(3);
    }

    @Test
    void missingConfigIsAOneLineError() {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int code = run(o, e, "pretrain", "--config", dir.resolve("missing.json").toString());
        assertThat(code).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(e.toString().strip()).startsWith("flexidepth: ").contains("missing.json").doesNotContain("\n");
    }
}
