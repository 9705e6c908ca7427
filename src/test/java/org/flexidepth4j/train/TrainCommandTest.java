package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.flexidepth4j.Shared;
import org.flexidepth4j.cli.Main;
import org.flexidepth4j.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `flexidepth train` end to end on tinylm-12l with its own tokenizer. */
class TrainCommandTest {
    @TempDir
    Path dir;

    private int run(StringWriter out, StringWriter err, String... args) {
        return Main.execute(new PrintWriter(out), new PrintWriter(err), args);
    }

    @Test
    void trainsAPlugIn() throws Exception {
        Path data = Files.writeString(dir.resolve("stories.txt"), "Once upon a time there was a little cat.\n\nThe cat liked to play in the sun all day long.\n");
        Path out = dir.resolve("out");
        String model = Shared.path("models/tinylm-12l").toString();
        StringWriter o = new StringWriter(), e = new StringWriter();
        int code = run(o, e, "train", "--model", model, "--data", data.toString(), "--routed-layers", "10-11",
                "--steps", "2", "--seq-len", "8", "--lr", "1e-3", "--checkpoint-every", "1", "--out", out.toString(), "--no-progress");
        assertThat(code).as(e.toString()).isZero();
        assertThat(o.toString()).contains("trained 2 steps");
        assertThat(SafeTensors.open(out.resolve("flexidepth.safetensors")).metadata()).containsEntry("routed_layers", "10,11");
        assertThat(Files.readAllLines(out.resolve("metrics.jsonl"))).hasSize(2);
        assertThat(out.resolve("checkpoint.safetensors")).exists();
    }

    @Test
    void killedRunLeavesOnlyOutPartialAndResumeCompletesIt() throws Exception {
        Path data = Files.writeString(dir.resolve("stories.txt"), "Once upon a time there was a little cat.\n\nThe cat liked to play in the sun all day long.\n");
        Path out = dir.resolve("out"), partial = dir.resolve("out.partial");
        Path model = Shared.path("models/tinylm-12l");
        // what a run killed after its first checkpoint leaves: out.partial with checkpoint and metrics, no out
        TrainConfig killed = TrainConfig.builder(model, java.util.List.of(data), partial).routedLayers("10-11").steps(2).seqLen(8).lr(1e-3f)
                .checkpointEvery(1).threads(org.flexidepth4j.tensor.Parallel.pool().threads()).build();
        Trainer.run(killed, org.flexidepth4j.load.ModelLoader.load(model), org.flexidepth4j.tokenizer.Tokenizers.fromHfDirectory(model), 1);
        assertThat(partial.resolve("checkpoint.safetensors")).exists();
        assertThat(out).doesNotExist();

        StringWriter o = new StringWriter(), e = new StringWriter();
        int code = run(o, e, "train", "--model", model.toString(), "--data", data.toString(), "--routed-layers", "10-11",
                "--steps", "2", "--seq-len", "8", "--lr", "1e-3", "--checkpoint-every", "1", "--out", out.toString(), "--resume", out.toString(), "--no-progress");
        assertThat(code).as(e.toString()).isZero();
        assertThat(o.toString()).contains("trained 1 steps").contains(out.resolve("flexidepth.safetensors").toString());
        assertThat(Files.readAllLines(out.resolve("metrics.jsonl"))).hasSize(2);
        assertThat(out.resolve("flexidepth.safetensors")).exists();
        assertThat(partial).doesNotExist();
        assertThat(dir.resolve("out.lock")).doesNotExist();
    }

    @Test
    void badDataIsAOneLineError() {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int code = run(o, e, "train", "--model", Shared.path("models/tinylm-12l").toString(), "--data", dir.resolve("missing.txt").toString(),
                "--routed-layers", "6-11", "--out", dir.resolve("out").toString(), "--no-progress");
        assertThat(code).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(e.toString().strip()).startsWith("flexidepth: ").contains("missing.txt").doesNotContain("\n");
    }
}
