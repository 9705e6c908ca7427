package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.flexidepth4j.cli.CliErrorTest.assertOneLineError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.flexidepth4j.Poison;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.OutputDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The input classes of docs/RELIABILITY.md that the CLI itself answers: one test each. */
class ReliabilityTest {
    static final Path TINYLM = Path.of("src/main/resources/models/tinylm-12l");

    static Path copyDir(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        return to;
    }

    @Test
    void outOfMemorySaysWhatWasAllocatedAndWhatToTry() {
        OutOfMemoryError e = new OutOfMemoryError("Java heap space");
        e.setStackTrace(new StackTraceElement[] {
                new StackTraceElement("org.flexidepth4j.tensor.Parallel", "run", "Parallel.java", 10),
                new StackTraceElement("org.flexidepth4j.model.InferenceState", "<init>", "InferenceState.java", 42)});
        String line = Main.describe(e);
        assertThat(line).startsWith("out of memory (Java heap space, heap limit ").contains("allocating in InferenceState.<init> (InferenceState.java:42)")
                .contains("--context").contains("-Xmx").doesNotContain("\n");
        assertThat(Main.describe(new StackOverflowError())).startsWith("stack overflow").contains("-Xss");
    }

    @Test
    void threadCountIsBounded() {
        Cli r = Cli.run("info", "--model", CliTest.LLAMA.toString(), "--threads", "100000");
        assertThat(r.code()).isNotZero();
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).contains("threads must be in [1, 1024], got 100000");
    }

    @Test
    void maxTokensDoesNotSizeArraysBeyondTheContext() {
        Cli r = Cli.run("generate", "--model", CliTest.LLAMA.toString(), "--ids", "1,2,3", "--max-tokens", "2000000000",
                "--context", "8", "--temperature", "0", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"ids\"");
    }

    @Test
    void pretrainZeroStepsIsRefused(@TempDir Path tmp) {
        assertOneLineError(Cli.run("pretrain", "--config", tmp.resolve("cfg.json").toString(), "--steps", "0"), 1, "--steps must be >= 1, got 0");
    }

    @Test
    void nonFiniteActivationsStopTheRunNamingTheModel(@TempDir Path tmp) throws IOException {
        // finite weights (so no load-time check objects): a normalized value above 1 times the largest float overflows
        Path model = copyDir(CliTest.LLAMA, tmp.resolve("overflowing-model"));
        Poison.fill(model.resolve("model.safetensors"), "model.norm.weight", Float.MAX_VALUE);
        Path out = tmp.resolve("logits.safetensors");
        assertOneLineError(Cli.run("logits", "--model", model.toString(), "--ids", "1,2", "--out", out.toString()), 1,
                model.toString(), "non-finite value", "in the logits at position 1");
        assertThat(out).doesNotExist();
    }

    @Test
    void nanRouterMakesTraceRefuseRatherThanReportGates(@TempDir Path tmp) throws IOException {
        Path model = copyDir(TINYLM, tmp.resolve("nan-router"));
        Poison.nan(model.resolve("flexidepth.safetensors"), "model.layers.6.router.router_head.weight");
        Path text = Files.writeString(tmp.resolve("t.txt"), "Once upon a time there was a cat.\n");
        Path out = tmp.resolve("trace");
        assertOneLineError(Cli.run("trace", "--model", model.toString(), "--file", text.toString(), "--out", out.toString(), "--no-progress"), 1,
                model.toString(), "FlexiDepth router gates of layer 6");
        assertThat(out).doesNotExist();
        assertThat(tmp.resolve("trace.partial")).doesNotExist();
    }

    @Test
    void mergeRefusesNanPlugIn(@TempDir Path tmp) throws IOException {
        Path plugin = Files.copy(Shared.path("fixtures/flexidepth-llama3/flexidepth.safetensors"), tmp.resolve("nan.safetensors"));
        Poison.nan(plugin, "model.layers.4.router_proj.up_proj.weight");
        Path out = tmp.resolve("merged");
        assertOneLineError(Cli.run("merge", "--model", Shared.path("fixtures/hf-parity/llama3").toString(), "--adapters", plugin.toString(),
                "--out", out.toString()), 1, plugin.toString(), "model.layers.4.router_proj.up_proj.weight holds NaN");
        assertThat(out).doesNotExist();
    }

    @Test
    void secondWriterOfAnOutputDirectoryFailsAtOnce(@TempDir Path tmp) throws IOException {
        Path text = Files.writeString(tmp.resolve("t.txt"), "Once upon a time.\n");
        Path out = tmp.resolve("trace");
        try (OutputDirectory held = OutputDirectory.lock(out)) {
            assertOneLineError(Cli.run(EvalTraceCommandTest.args("trace", "--file", text.toString(), "--out", out.toString(), "--no-progress")), 1,
                    out.toAbsolutePath().toString(), "another run is writing this output directory", "process " + ProcessHandle.current().pid());
        }
        assertThat(out).doesNotExist();
    }

    @Test
    void killedTraceLeavesNoHalfFilledOutputAndARerunCompletes(@TempDir Path tmp) throws Exception {
        StringBuilder docs = new StringBuilder();
        for (int i = 0; i < 400; i++) docs.append("Once upon a time there was a little cat number ").append(i).append(" who liked to play.\n\n");
        Path text = Files.writeString(tmp.resolve("t.txt"), docs);
        Path out = tmp.resolve("trace"), partial = tmp.resolve("trace.partial");
        String[] args = EvalTraceCommandTest.args("trace", "--file", text.toString(), "--generate", "4", "--out", out.toString(), "--no-progress");
        String[] command = Stream.concat(Stream.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"), Main.class.getName()), Stream.of(args)).toArray(String[]::new);
        Process run = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(tmp.resolve("log.txt").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.isDirectory(partial) && run.isAlive() && System.nanoTime() < deadline) Thread.sleep(20);
        assertThat(run.isAlive()).as(Files.readString(tmp.resolve("log.txt"))).isTrue();
        run.destroyForcibly().waitFor();
        assertThat(out).doesNotExist();

        Cli rerun = Cli.run(EvalTraceCommandTest.args("trace", "--file", text.toString(), "--limit", "2", "--out", out.toString(), "--no-progress"));
        assertThat(rerun.code()).as(rerun.err()).isZero();
        for (String f : new String[] {"summary.json", "tokens.jsonl.gz", "layers.html", "heatmap.png", "skip_by_layer.png"}) assertThat(out.resolve(f)).exists();
        assertThat(partial).doesNotExist();
        assertThat(tmp.resolve("trace.lock")).doesNotExist();
    }
}
