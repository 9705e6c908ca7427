package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.model.Model;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training loop on the small random-weight fixture model with byte-level fake tokens. */
class TrainerTest {
    private static final Model MODEL = ModelLoader.load(Shared.path("fixtures/hf-parity/llama3"));

    @TempDir
    Path dir;

    private Path corpus() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 40; i++) sb.append("the cat sat on the mat number ").append(i % 7).append(".\n\n");
        return Files.writeString(dir.resolve("corpus.txt"), sb);
    }

    private TrainConfig.Builder config(Path data, Path out) {
        return TrainConfig.builder(Shared.path("fixtures/hf-parity/llama3"), List.of(data), out)
                .routedLayers("3-5").seqLen(16).batch(1).accumulation(2).lr(3e-3f).warmup(2).alpha(1e-2f)
                .threads(2).seed(5).progress(false).checkpointEvery(3).evalEvery(3).evalSequences(2);
    }

    @Test
    void killedAndResumedRunContinuesExactly() throws Exception {
        Path data = corpus();
        int k = 2;
        // No JIT warm-up: every kernel gives the same bits interpreted or compiled (VectorOps.sum and VectorOps.exp
        // instead of the Vector API's reduceLanes(ADD) / lanewise(EXP)), so the cold first run must match the resume.
        TrainConfig whole = config(data, dir.resolve("whole")).steps(2 * k).checkpointEvery(k).build();
        Trainer.Result a = Trainer.run(whole, MODEL, new FakeTokenizer(), Integer.MAX_VALUE);

        TrainConfig interrupted = config(data, dir.resolve("resumed")).steps(2 * k).checkpointEvery(k).build();
        Trainer.Result first = Trainer.run(interrupted, MODEL, new FakeTokenizer(), k);
        // the killed run had logged a step past its checkpoint, and its last line was cut short
        Files.writeString(dir.resolve("resumed/metrics.jsonl"), "{\"step\":" + (k + 1) + ",\"loss\":1}\n{\"step\":", java.nio.file.StandardOpenOption.APPEND);
        TrainConfig resumed = config(data, dir.resolve("resumed")).steps(2 * k).checkpointEvery(k).resume(dir.resolve("resumed")).build();
        Trainer.Result second = Trainer.run(resumed, MODEL, new FakeTokenizer(), Integer.MAX_VALUE);

        assertThat(first.losses()).isEqualTo(a.losses().subList(0, k));
        assertThat(second.losses()).isEqualTo(a.losses().subList(k, 2 * k));
        assertThat(Files.readAllBytes(second.output())).isEqualTo(Files.readAllBytes(a.output()));
        assertThat(Files.readAllLines(dir.resolve("resumed/metrics.jsonl"))).hasSize(2 * k);
    }

    @Test
    void plugInTrainingLowersTheLossAndWritesTheReleasedNaming() throws Exception {
        Path data = corpus();
        Trainer.Result r = Trainer.run(config(data, dir.resolve("out")).steps(12).lr(1e-2f).build(), MODEL, new FakeTokenizer(), Integer.MAX_VALUE);
        assertThat(r.losses().getLast()).isLessThan(r.losses().getFirst() - 0.1);
        SafeTensors plugIn = SafeTensors.open(r.output());
        assertThat(plugIn.tensors()).hasSize(21).containsKeys("model.layers.3.router.router_enc.weight", "model.layers.5.router_proj.up_proj.weight");
        assertThat(plugIn.get("model.layers.4.router.router_norm.weight").shape()).containsExactly(8);
        assertThat(Files.readAllLines(dir.resolve("out/metrics.jsonl")).getLast()).contains("\"layers_skipped\"", "\"val_lm_loss\"", "\"val_layers_skipped\"", "\"tokens_per_s\"");
    }

    @Test
    void continuesTheModelsOwnPlugIn() throws Exception {
        Path fixture = Shared.path("fixtures/flexidepth-llama3");
        TrainConfig cfg = TrainConfig.builder(fixture, List.of(corpus()), dir.resolve("cont"))
                .seqLen(16).steps(2).lr(1e-3f).warmup(1).threads(2).progress(false).build();
        Trainer.Result r = Trainer.run(cfg, ModelLoader.load(fixture), new FakeTokenizer(), Integer.MAX_VALUE);
        assertThat(SafeTensors.open(r.output()).metadata()).containsEntry("routed_layers", "3,4,5");
        assertThatThrownBy(() -> Trainer.run(config(corpus(), dir.resolve("none")).routedLayers(null).build(), MODEL, new FakeTokenizer(), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--routed-layers");
    }

    @Test
    void fullWeightTrainingLowersTheLoss() throws Exception {
        Path data = corpus();
        TrainConfig cfg = TrainConfig.builder(Shared.path("fixtures/hf-parity/llama3"), List.of(data), dir.resolve("full"))
                .fullWeights(true).seqLen(16).steps(6).lr(3e-3f).warmup(1).threads(2).progress(false).build();
        Trainer.Result r = Trainer.run(cfg, MODEL, new FakeTokenizer(), Integer.MAX_VALUE);
        assertThat(r.losses().getLast()).isLessThan(r.losses().getFirst() - 0.1);
        assertThat(SafeTensors.open(r.output()).tensors()).containsKeys("lm_head.weight", "model.norm.weight", "model.embed_tokens.weight");
    }

    @Test
    void badSettingsAreClearErrors() throws Exception {
        Path data = corpus();
        assertThatThrownBy(() -> Trainer.run(config(data, dir.resolve("x")).seqLen(4096).build(), MODEL, new FakeTokenizer(), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exceeds the model's context");
        assertThatThrownBy(() -> Trainer.run(config(data, dir.resolve("x")).routedLayers("4-9").build(), MODEL, new FakeTokenizer(), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside 0..5");
        assertThatThrownBy(() -> TrainConfig.parseLayers("a-b")).hasMessageContaining("6-11");
        assertThatThrownBy(() -> Trainer.run(config(data, dir.resolve("y")).resume(dir.resolve("nothing")).build(), MODEL, new FakeTokenizer(), 1))
                .hasMessageContaining("no checkpoint.safetensors");
    }
}
