package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.skip.BinaryRouters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A tiny Learning-to-Skip model pretrained end to end on a few KB of TinyStories with a byte tokenizer. */
class PretrainerTest {
    @TempDir
    Path tmp;

    String config(String router, int steps) throws IOException {
        return config(router, steps, 6000);
    }

    String config(String router, int steps, int dataChars) throws IOException {
        Path data = tmp.resolve("stories.txt");
        String text = Files.readString(Shared.path("data/text/tinystories/tinystories_train_head_cased_part1.txt"), StandardCharsets.UTF_8);
        Files.writeString(data, text.substring(0, dataChars));
        return """
                {"model": {"hidden_size": 32, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2,
                           "intermediate_size": 64, "max_position_embeddings": 64},
                 "router": %s,
                 "optimizer": {"lr": 0.003, "warmup_steps": 2, "weight_decay": 0.1},
                 "data": {"files": ["%s"], "seq_len": 32, "batch": 4, "val_sequences": 6},
                 "steps": %d, "seed": 3, "eval_every": 10, "threads": 2, "out": "%s"}
                """.formatted(router, data, steps, tmp.resolve("out"));
    }

    PretrainConfig parse(String json) {
        return PretrainConfig.parse(tmp.resolve("cfg.json"), Json.read(write(json)));
    }

    Path write(String json) {
        try {
            return Files.writeString(tmp.resolve("cfg.json"), json);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"layer", "module"})
    void pretrainsWithSkipRoutersAndTheOutputLoadsAndRunsWithRealSkipping(String granularity) throws IOException {
        PretrainConfig cfg = parse(config("""
                {"granularity": "%s", "dense_first_layers": 1, "target_density": 0.5, "beta": 0.1, "gumbel_temperature": 1.0,
                 "noise_anneal_fraction": 0.5, "router_lr_multiplier": 2.0}""".formatted(granularity), 20));
        assertThat(cfg.router().layers()).containsExactly(1, 2);
        Pretrainer.Result r = Pretrainer.run(cfg, new FakeTokenizer());

        List<Double> l = r.losses();
        assertThat(l).hasSize(20);
        double first = (l.get(0) + l.get(1) + l.get(2)) / 3, last = (l.get(17) + l.get(18) + l.get(19)) / 3;
        assertThat(first).isCloseTo(Math.log(259), org.assertj.core.data.Offset.offset(0.3)); // uniform at init
        assertThat(last).isLessThan(first - 1.0);

        List<String> metrics = Files.readAllLines(r.out().resolve("metrics.jsonl"));
        assertThat(metrics).hasSize(20);
        JsonNode step1 = Json.MAPPER.readTree(metrics.get(0)), step15 = Json.MAPPER.readTree(metrics.get(14));
        assertThat(step1.get("noise").asDouble()).isEqualTo(1.0);
        assertThat(step15.get("noise").asDouble()).isEqualTo(0.0);
        assertThat(step1.get("executed").asDouble()).isStrictlyBetween(0.2, 0.8); // zero routers + noise: a coin flip

        Model m = ModelLoader.load(r.out());
        assertThat(m.defaultPolicy()).isInstanceOf(BinaryRouters.class);
        assertThat(((BinaryRouters) m.defaultPolicy()).settings()).isEqualTo(cfg.router());
        try (var files = Files.list(r.out().getParent())) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("out", "stories.txt", "cfg.json");
        }

        // the held-out NLL the trainer reports is the loaded model's, routed at inference; the gates of the trace
        // (per module: the mean of the layer's two) average to the executed fraction
        TextData val = TextData.load(cfg.data(), new FakeTokenizer(), cfg.seqLen(), 259).split(cfg.valSequences())[1];
        Transformer tf = m.transformer();
        double nll = 0, gates = 0;
        int[] seq = new int[cfg.seqLen()];
        for (int i = 0; i < val.sequences(); i++) {
            val.sequence(i, seq);
            InferenceState s = tf.newState(seq.length);
            tf.forward(s, seq, 0, seq.length, m.defaultPolicy(), true);
            for (int t = 0; t + 1 < seq.length; t++) {
                float[] row = s.logitsRow(t);
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (float x : row) max = Math.max(max, x);
                for (float x : row) sum += Math.exp(x - max);
                nll += (Math.log(sum) + max - row[seq[t + 1]]) / (seq.length - 1);
            }
            for (int t = 0; t < seq.length; t++) gates += s.gate(1, t) + s.gate(2, t);
        }
        assertThat(nll / val.sequences()).isCloseTo(r.valLoss(), org.assertj.core.data.Offset.offset(1e-4));
        assertThat(gates / (2.0 * val.sequences() * cfg.seqLen())).isCloseTo(r.valExecuted(), org.assertj.core.data.Offset.offset(1e-9));
        if (granularity.equals("module")) {
            assertThat(SafeTensors.open(r.out().resolve("model.safetensors")).tensors()).containsKeys("model.layers.1.skip_router_attn.weight",
                    "model.layers.2.skip_router_mlp.weight").doesNotContainKey("model.layers.1.skip_router.weight");
        }

        // greedy generation with real skipping
        int[] ids = new FakeTokenizer().encode("Once upon a time");
        InferenceState s = tf.newState(40);
        tf.forward(s, ids, 0, ids.length, m.defaultPolicy(), false);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            int next = org.flexidepth4j.tensor.VectorOps.argmax(s.logits(), 0, 259);
            out.append((char) (next - 3));
            tf.forward(s, new int[] {next}, 0, 1, m.defaultPolicy(), false);
            assertThat(s.gate(1, 0)).isIn(0f, 0.5f, 1f);
        }
        assertThat(out).hasSize(16);
    }

    /**
     * 2k steps in one go equal k steps, a kill, and a resume for k more: the same losses, metrics lines, held-out NLL
     * and model file bit for bit. The kill comes after an epoch boundary (about 30 training sequences, 4 per step), the
     * noise is still annealing, and both optimizers (base, routers) carry state across it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"{\"noise_anneal_fraction\": 1.0, \"router_lr_multiplier\": 2.0}", "{\"granularity\": \"module\", \"noise_anneal_fraction\": 1.0}", "null"})
    void killedAndResumedRunContinuesExactly(String router) throws IOException {
        int k = 9;
        PretrainConfig cfg = parse(config(router, 2 * k, 1200).replace("\"eval_every\": 10", "\"eval_every\": 4, \"checkpoint_every\": 3"));
        // Bitwise equality needs the JIT settled first (as in TrainerTest): interpreted Vector API code sums in another order.
        Pretrainer.run(cfg.with(List.of(), 0, tmp.resolve("warm-up")), new FakeTokenizer());
        Pretrainer.Result whole = Pretrainer.run(cfg.with(List.of(), 0, tmp.resolve("whole")), new FakeTokenizer());

        Path out = tmp.resolve("resumed");
        PretrainConfig resumable = cfg.with(List.of(), 0, out);
        Pretrainer.Result first = Pretrainer.run(resumable, new FakeTokenizer(), null, false, k);
        assertThat(first.out()).isEqualTo(Pretrainer.inProgress(out));
        assertThat(out).doesNotExist();
        assertThat(first.out().resolve(Checkpoint.FILE)).exists();
        // the killed run had logged a step past its checkpoint, and its last line was cut short
        Files.writeString(first.out().resolve("metrics.jsonl"), "{\"step\":" + (k + 1) + ",\"loss\":1}\n{\"step\":", java.nio.file.StandardOpenOption.APPEND);
        Pretrainer.Result second = Pretrainer.run(resumable, new FakeTokenizer(), out, false, Integer.MAX_VALUE);

        assertThat(first.losses()).isEqualTo(whole.losses().subList(0, k));
        assertThat(second.losses()).isEqualTo(whole.losses().subList(k, 2 * k));
        assertThat(second.valLoss()).isEqualTo(whole.valLoss());
        assertThat(Files.readAllBytes(out.resolve("model.safetensors"))).isEqualTo(Files.readAllBytes(whole.out().resolve("model.safetensors")));
        assertThat(Files.readAllBytes(out.resolve(Checkpoint.FILE))).isEqualTo(Files.readAllBytes(whole.out().resolve(Checkpoint.FILE)));
        List<String> a = Files.readAllLines(whole.out().resolve("metrics.jsonl")), b = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertThat(b).hasSize(2 * k);
        for (int i = 0; i < 2 * k; i++) assertThat(withoutSpeed(b.get(i))).isEqualTo(withoutSpeed(a.get(i)));
        assertThat(Json.MAPPER.readTree(b.getLast()).get("epoch").asInt()).isEqualTo(2);
        assertThat(Pretrainer.inProgress(out)).doesNotExist();
    }

    static JsonNode withoutSpeed(String line) throws IOException {
        com.fasterxml.jackson.databind.node.ObjectNode n = (com.fasterxml.jackson.databind.node.ObjectNode) Json.MAPPER.readTree(line);
        n.remove("tokens_per_s");
        return n;
    }

    @Test
    void resumeErrorsNameTheProblem() throws IOException {
        PretrainConfig cfg = parse(config("{}", 4).replace("\"eval_every\": 10", "\"checkpoint_every\": 2"));
        assertThatThrownBy(() -> Pretrainer.run(cfg, new FakeTokenizer(), tmp.resolve("nothing"), false, Integer.MAX_VALUE))
                .isInstanceOf(FormatException.class).hasMessageContaining("no checkpoint.safetensors");
        Pretrainer.run(cfg, new FakeTokenizer(), null, false, 2);
        PretrainConfig dense = parse(config("null", 4));
        assertThatThrownBy(() -> Pretrainer.run(dense, new FakeTokenizer(), cfg.out(), false, Integer.MAX_VALUE))
                .isInstanceOf(FormatException.class).hasMessageContaining("checkpoint.safetensors").hasMessageContaining("trained tensors");
        PretrainConfig otherSeed = parse(config("{}", 4).replace("\"seed\": 3", "\"seed\": 4"));
        assertThatThrownBy(() -> Pretrainer.run(otherSeed, new FakeTokenizer(), cfg.out(), false, Integer.MAX_VALUE))
                .isInstanceOf(FormatException.class).hasMessageContaining("seed 3");
    }

    /**
     * The density schedule: with target_density_start 1.0 and target_density_anneal_fraction 0.5 over 8 steps the
     * target falls linearly 1.0, 0.875, 0.75, 0.625, then stays at P = 0.5. Zero-init routers without noise have
     * soft execute probability exactly 0.5, so the first step's regulariser is beta·(0.5 − 1.0)² per router:
     * 2 · 0.1 · 0.25 per layer router, 4 · 0.1 · 0.25 per module router.
     */
    @ParameterizedTest
    @ValueSource(strings = {"layer", "module"})
    void densityScheduleMovesTheRegulariserTarget(String granularity) throws IOException {
        Pretrainer.Result r = Pretrainer.run(parse(config("""
                {"granularity": "%s", "target_density": 0.5, "target_density_start": 1.0, "target_density_anneal_fraction": 0.5,
                 "beta": 0.1, "noise_scale": 0}""".formatted(granularity), 8)), new FakeTokenizer());
        List<String> metrics = Files.readAllLines(r.out().resolve("metrics.jsonl"));
        double[] want = {1.0, 0.875, 0.75, 0.625, 0.5, 0.5, 0.5, 0.5};
        for (int i = 0; i < want.length; i++) {
            assertThat(Json.MAPPER.readTree(metrics.get(i)).get("target_density").asDouble()).as("step %d", i + 1).isEqualTo(want[i]);
        }
        int routers = granularity.equals("module") ? 4 : 2;
        assertThat(Json.MAPPER.readTree(metrics.get(0)).get("density_reg").asDouble()).isCloseTo(routers * 0.1 * 0.25, org.assertj.core.data.Offset.offset(1e-7));
        assertThat(Json.read(r.out().resolve("config.json")).get("skip_router").get("target_density_start").asDouble()).isEqualTo(1.0);
    }

    @Test
    void denseBaselineHasNoRouters() throws IOException {
        Pretrainer.Result r = Pretrainer.run(parse(config("null", 2)), new FakeTokenizer());
        assertThat(Json.read(r.out().resolve("config.json")).has("skip_router")).isFalse();
        assertThat(ModelLoader.load(r.out()).defaultPolicy()).isSameAs(org.flexidepth4j.model.SkipPolicy.NONE);
    }

    @Test
    void commandLineOverridesReplaceTheFilesValues() throws IOException {
        PretrainConfig cfg = parse(config("{\"dense_first_layers\": 2}", 5));
        assertThat(cfg.router().layers()).containsExactly(2);
        PretrainConfig same = cfg.with(List.of(), 0, null), changed = cfg.with(List.of(Path.of("a.txt")), 9, Path.of("o"));
        assertThat(same).isEqualTo(cfg);
        assertThat(changed.data()).containsExactly(Path.of("a.txt"));
        assertThat(changed.steps()).isEqualTo(9);
        assertThat(changed.out()).isEqualTo(Path.of("o"));
    }

    @Test
    void badConfigsFailWithOneLineErrors() throws IOException {
        String ok = config("{}", 5);
        assertThatThrownBy(() -> parse(ok.replace("\"steps\"", "\"stepz\""))).isInstanceOf(FormatException.class).hasMessageContaining("unknown key 'stepz'");
        assertThatThrownBy(() -> parse(ok.replace("\"seq_len\": 32", "\"seq_len\": 100"))).isInstanceOf(FormatException.class).hasMessageContaining("seq_len 100");
        assertThatThrownBy(() -> parse(ok.replace("\"router\": {}", "\"router\": {\"target_density\": \"half\"}"))).isInstanceOf(FormatException.class).hasMessageContaining("target_density");
        assertThatThrownBy(() -> parse(ok.replace("\"router\": {}", "\"router\": {\"noise_anneal_fracton\": 0.2}"))).isInstanceOf(FormatException.class)
                .hasMessageContaining("unknown key 'noise_anneal_fracton'").hasMessageContaining("noise_anneal_fraction");
        assertThatThrownBy(() -> parse(ok.replace("\"hidden_size\": 32, ", ""))).isInstanceOf(FormatException.class).hasMessageContaining("hidden_size");
    }
}
