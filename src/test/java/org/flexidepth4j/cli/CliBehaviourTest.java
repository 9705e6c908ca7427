package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.flexidepth4j.Shared;
import org.flexidepth4j.eval.EvalData;
import org.flexidepth4j.load.EmbeddedModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a new user meets: java -jar without flags, short flags, prompts from files and stdin, routing notices, plain output off a terminal. */
class CliBehaviourTest {
    static final Path TINY = Shared.path("models/tinylm-12l");
    static final Path TEXT = Shared.path("data/text/tinystories/tinystories_train_head_cased_part1.txt");

    @TempDir
    Path tmp;

    @BeforeEach
    void cache() {
        System.setProperty(EmbeddedModel.CACHE_PROPERTY, tmp.resolve("cache").toString());
    }

    @AfterEach
    void clearProperty() {
        System.clearProperty(EmbeddedModel.CACHE_PROPERTY);
    }

    static Process java(List<String> flags, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(flags);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.flexidepth4j.cli.Launcher"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return p;
    }

    @Test
    void withoutTheVectorModuleTheJarSaysWhichFlagInOneLine() throws Exception {
        Process bare = java(List.of(), "generate", "-p", "Hi", "-n", "2");
        String err = new String(bare.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(bare.exitValue()).isEqualTo(Main.EXIT_USAGE);
        assertThat(err.lines().toList()).hasSize(1).first().asString().startsWith("flexidepth: ").contains("--add-modules jdk.incubator.vector");
        assertThat(bare.getInputStream().readAllBytes()).isEmpty();

        Process ok = java(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"), "--version");
        String okErr = new String(ok.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(ok.exitValue()).as(okErr).isZero();
        assertThat(new String(ok.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).startsWith("flexidepth4j ");
        assertThat(okErr.lines().filter(l -> l.contains("incubator")).count()).isLessThanOrEqualTo(1);
        assertThat(okErr).doesNotContain("Exception", "\tat ");
    }

    @Test
    void shortFlagsAndPromptFilesAndStdinGiveTheSameText() throws Exception {
        Cli longFlags = Cli.run("generate", "--model", TINY.toString(), "--prompt", "Once upon a time", "--max-tokens", "8", "--temperature", "0", "--json");
        assertThat(longFlags.code()).as(longFlags.err()).isZero();
        String want = CliTest.parse(longFlags.out()).get("text").asText();
        Cli shortFlags = Cli.run("generate", "-m", TINY.toString(), "-p", "Once upon a time", "-n", "8", "--temperature", "0", "--json");
        assertThat(CliTest.parse(shortFlags.out()).get("text").asText()).isEqualTo(want);

        Path file = Files.writeString(tmp.resolve("prompt.txt"), "Once upon a time\n");
        Cli fromFile = Cli.run("generate", "-m", TINY.toString(), "--prompt-file", file.toString(), "-n", "8", "--temperature", "0", "--json");
        assertThat(fromFile.code()).as(fromFile.err()).isZero();
        assertThat(CliTest.parse(fromFile.out()).get("text").asText()).isEqualTo(want);

        InputStream stdin = System.in;
        try {
            System.setIn(new ByteArrayInputStream("Once upon a time\n".getBytes(StandardCharsets.UTF_8)));
            Cli fromStdin = Cli.run("generate", "-m", TINY.toString(), "-p", "-", "-n", "8", "--temperature", "0");
            assertThat(fromStdin.code()).as(fromStdin.err()).isZero();
            assertThat(fromStdin.out()).isEqualTo("Once upon a time" + want + System.lineSeparator());
        } finally {
            System.setIn(stdin);
        }
        Cli both = Cli.run("generate", "-m", TINY.toString(), "-p", "x", "--prompt-file", file.toString());
        assertThat(both.code()).isEqualTo(Main.EXIT_USAGE);
    }

    @Test
    void showLayersOffATerminalPrintsPlainText() {
        Cli r = Cli.run("generate", "-p", "Once upon a time", "-n", "6", "--temperature", "0", "--show-layers");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("Once upon a time").doesNotContain("\u001b");
        assertThat(r.err()).doesNotContain("\u001b").contains("mean layers used");
    }

    @Test
    void noColorAndTerminalsDecideColours() {
        assertThat(org.flexidepth4j.io.Terminal.colours(true, java.util.Map.of())).isTrue();
        assertThat(org.flexidepth4j.io.Terminal.colours(true, java.util.Map.of("NO_COLOR", "1"))).isFalse();
        assertThat(org.flexidepth4j.io.Terminal.colours(true, java.util.Map.of("NO_COLOR", ""))).isTrue();
        assertThat(org.flexidepth4j.io.Terminal.colours(true, java.util.Map.of("TERM", "dumb"))).isFalse();
        assertThat(org.flexidepth4j.io.Terminal.colours(false, java.util.Map.of())).isFalse();
    }

    @Test
    void perplexityOnTheRoutedDefaultModelSaysSoAndRecordsThePlugin() throws Exception {
        Cli routed = Cli.run("perplexity", "--file", TEXT.toString(), "--split-paragraphs", "--limit", "2", "--max-tokens", "64", "--json");
        assertThat(routed.code()).as(routed.err()).isZero();
        assertThat(routed.err().lines().toList()).hasSize(1).first().asString()
                .startsWith("flexidepth: routing with the model's own plug-in").contains("flexidepth.safetensors", "--skip none");
        JsonNode j = CliTest.parse(routed.out());
        assertThat(j.get("plugin").asText()).isEqualTo("embedded " + EmbeddedModel.NAME + " flexidepth.safetensors");
        assertThat(j.get("mean_layers_used").asDouble()).isLessThan(12);

        // --limit 2 scores exactly the first two paragraphs
        Path two = Files.writeString(tmp.resolve("two.txt"), String.join("\n\n", EvalData.paragraphs(Files.readString(TEXT)).subList(0, 2)));
        Cli whole = Cli.run("perplexity", "--file", two.toString(), "--split-paragraphs", "--max-tokens", "64", "--json");
        assertThat(CliTest.parse(whole.out()).get("tokens").asInt()).isEqualTo(j.get("tokens").asInt());
        assertThat(CliTest.parse(whole.out()).get("mean_nll").asDouble()).isEqualTo(j.get("mean_nll").asDouble());

        Cli dense = Cli.run("perplexity", "--file", two.toString(), "--split-paragraphs", "--max-tokens", "64", "--skip", "none", "--json");
        assertThat(dense.err()).isEmpty();
        assertThat(CliTest.parse(dense.out()).get("plugin").isNull()).isTrue();
        assertThat(CliTest.parse(dense.out()).get("mean_layers_used").asDouble()).isEqualTo(12.0);
    }

    @Test
    void adaptersReplacingTheEmbeddedPluginSaySo() {
        Path plugin = EmbeddedModel.directory().resolve("flexidepth.safetensors");
        Cli r = Cli.run("generate", "--adapters", plugin.toString(), "-p", "Hi", "-n", "2", "--temperature", "0", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err().lines().toList()).hasSize(1).first().asString()
                .isEqualTo("flexidepth: the plug-in " + plugin + " replaces the routers that the embedded " + EmbeddedModel.NAME + " carries");
        Cli base = Cli.run("generate", "-m", TINY.toString(), "--adapters", plugin.toString(), "-p", "Hi", "-n", "2", "--temperature", "0", "--json");
        assertThat(base.err()).isEmpty();
    }
}
