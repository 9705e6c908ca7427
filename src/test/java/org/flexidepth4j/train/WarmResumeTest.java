package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.load.ModelLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run killed late, after the JIT has compiled its kernels, and resumed in a fresh JVM that cannot compile with C2
 * ({@code -XX:TieredStopAtLevel=1}: the Vector API's Java fallbacks, whose lane sums differ from C2's): every loss and
 * the final plug-in file equal those of the uninterrupted warm run. Holds because every training path reduces in a
 * fixed order ({@link Ops#linear} through {@code Matrix.matmulOrderFixed}, lane sums through {@code VectorOps.sum}).
 */
class WarmResumeTest {
    private static final int STEPS = 40, KILLED_AT = 30;

    @TempDir
    Path dir;

    static TrainConfig config(Path data, Path out, Path resume) {
        return TrainConfig.builder(Shared.path("fixtures/hf-parity/llama3"), List.of(data), out)
                .routedLayers("3-5").seqLen(16).batch(1).accumulation(2).lr(3e-3f).warmup(2).alpha(1e-2f)
                .threads(2).seed(5).progress(false).checkpointEvery(10).evalEvery(10).evalSequences(2)
                .steps(STEPS).resume(resume).build();
    }

    /** The resumed half, run in the child JVM: args are the data file and the killed run's directory. */
    public static void main(String[] args) {
        Path data = Path.of(args[0]), out = Path.of(args[1]);
        TrainConfig cfg = config(data, out, out);
        Trainer.run(cfg, ModelLoader.load(cfg.model()), new FakeTokenizer(), Integer.MAX_VALUE);
    }

    @Test
    void warmRunKilledLateContinuesExactlyInAColdJvm() throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 40; i++) sb.append("the cat sat on the mat number ").append(i % 7).append(".\n\n");
        Path data = Files.writeString(dir.resolve("corpus.txt"), sb);
        var model = ModelLoader.load(Shared.path("fixtures/hf-parity/llama3"));

        // the killed run first, so that the uninterrupted run's last steps run on C2-compiled kernels
        Path killed = dir.resolve("killed");
        Trainer.Result first = Trainer.run(config(data, killed, null), model, new FakeTokenizer(), KILLED_AT);
        Trainer.Result whole = Trainer.run(config(data, dir.resolve("whole"), null), model, new FakeTokenizer(), Integer.MAX_VALUE);
        assertThat(first.losses()).isEqualTo(whole.losses().subList(0, KILLED_AT));

        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), WarmResumeTest.class.getName(), data.toString(), killed.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        assertThat(child.waitFor(300, TimeUnit.SECONDS)).as("child finished").isTrue();
        assertThat(child.exitValue()).as(Files.readString(dir.resolve("child.log"))).isZero();

        List<Double> losses = new ArrayList<>();
        for (String line : Files.readAllLines(killed.resolve("metrics.jsonl"))) {
            JsonNode j = Json.MAPPER.readTree(line);
            losses.add(j.get("loss").asDouble());
        }
        assertThat(losses).isEqualTo(whole.losses());
        assertThat(Files.readAllBytes(killed.resolve("flexidepth.safetensors"))).isEqualTo(Files.readAllBytes(whole.output()));
    }
}
