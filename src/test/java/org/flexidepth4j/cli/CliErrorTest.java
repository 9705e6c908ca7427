package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input: one line on stderr naming the problem, a non-zero exit, no stack trace unless --verbose. */
class CliErrorTest {
    static void assertOneLineError(Cli r, int code, String... fragments) {
        assertThat(r.code()).as(r.err()).isEqualTo(code);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
        assertThat(r.err()).startsWith("flexidepth: ").contains(fragments).doesNotContain("\tat ");
    }

    static Path copyLlama(Path dir) throws IOException {
        for (String f : new String[] {"config.json", "model.safetensors"}) Files.copy(CliTest.LLAMA.resolve(f), dir.resolve(f));
        return dir;
    }

    @Test
    void missingModelDirectory(@TempDir Path tmp) {
        Path missing = tmp.resolve("nope");
        assertOneLineError(Cli.run("generate", "--model", missing.toString(), "--ids", "1,2"), 1, missing.toString(), "not found");
    }

    @Test
    void truncatedSafetensors(@TempDir Path tmp) throws IOException {
        Path dir = copyLlama(tmp);
        byte[] bytes = Files.readAllBytes(dir.resolve("model.safetensors"));
        Files.write(dir.resolve("model.safetensors"), Arrays.copyOf(bytes, bytes.length / 2));
        assertOneLineError(Cli.run("logits", "--model", dir.toString(), "--ids", "1,2", "--out", tmp.resolve("o.safetensors").toString()),
                1, "model.safetensors");
        assertThat(tmp.resolve("o.safetensors")).doesNotExist();
    }

    @Test
    void unknownModelType(@TempDir Path tmp) throws IOException {
        Path dir = copyLlama(tmp);
        Path config = dir.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"llama\"", "\"gpt2\""));
        assertOneLineError(Cli.run("generate", "--model", dir.toString(), "--ids", "1"), 1, "config.json", "unknown model_type 'gpt2'");
    }

    @Test
    void badJsonConfig(@TempDir Path tmp) throws IOException {
        Path dir = copyLlama(tmp);
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llama\",\n \"hidden_size\": 128,,}");
        assertOneLineError(Cli.run("generate", "--model", dir.toString(), "--ids", "1"), 1, "config.json", "bad JSON");
    }

    @Test
    void promptLongerThanContext() {
        assertOneLineError(Cli.run("generate", "--model", CliTest.LLAMA.toString(), "--ids", "1,2,3,4,5,6", "--context", "4",
                "--temperature", "0"), 1, "6 tokens", "context length of 4");
    }

    @Test
    void tokenIdOutsideVocabulary() {
        assertOneLineError(Cli.run("generate", "--model", CliTest.LLAMA.toString(), "--ids", "1,99999"), 1, "99999");
    }

    @Test
    void unavailableSkipMode() {
        assertOneLineError(Cli.run("generate", "--model", CliTest.LLAMA.toString(), "--ids", "1", "--skip", "bogus"), 1, "skip mode 'bogus'");
    }

    @Test
    void usageErrorsExitTwo() {
        assertOneLineError(Cli.run("logits", "--model", CliTest.LLAMA.toString(), "--ids", "1,x", "--out", "o.safetensors"), 2, "--ids", "'x'");
        assertOneLineError(Cli.run("generate", "--max-tokens", "3"), 2, "--prompt", "--ids");
        assertOneLineError(Cli.run("frobnicate"), 2, "frobnicate");
    }

    @Test
    void verboseAddsTheStackTraceWhereverItIsGiven(@TempDir Path tmp) {
        String missing = tmp.resolve("nope").toString();
        for (String[] args : new String[][] {{"--verbose", "info", "--model", missing}, {"info", "--model", missing, "--verbose"}}) {
            Cli r = Cli.run(args);
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err()).startsWith("flexidepth: ").contains("\tat ");
        }
    }
}
