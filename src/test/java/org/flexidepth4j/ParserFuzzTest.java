package org.flexidepth4j;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Gguf;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.load.HfConfig;
import org.flexidepth4j.load.Llama2cCheckpoint;
import org.flexidepth4j.tokenizer.ChatTemplate;
import org.flexidepth4j.tokenizer.Tokenizer;
import org.flexidepth4j.tokenizer.Tokenizers;
import org.flexidepth4j.train.TextData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzz tests (Jazzer) of every file parser. The property: any input either loads or fails with our
 * one-line error (a {@link FormatException}, whose message is one line, or an {@link IllegalArgumentException} with
 * a message, which the CLI prints on one line), within the timeout and the test heap; anything else (an overflow, an index out of bounds, a hang, an out-of-memory) is a
 * finding. A plain test run replays the seeds and the kept findings under src/test/resources/org/flexidepth4j/
 * ParserFuzzTestInputs/METHOD; {@code bin/fuzz} fuzzes each target for a while (docs/RELIABILITY.md).
 */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ParserFuzzTest {
    private static Path dir;
    /** The tokenizer of the JSONL target, loaded by that target only (each fuzzing run is one target). */
    private static Tokenizer tokenizer;

    @BeforeAll
    static void setUp() throws IOException {
        dir = Files.createTempDirectory("parser-fuzz");
    }

    @AfterAll
    static void tearDown() throws IOException {
        org.flexidepth4j.io.AtomicFiles.deleteTree(dir);
    }

    @FunctionalInterface
    interface Parse {
        void run(Path file);
    }

    /** Writes the input to a fresh file, parses it, and accepts success or our one-line error. */
    private static void loadsOrOneLineError(byte[] input, String name, Parse parse) throws IOException {
        loadsOrOneLineError(input, Files.createTempFile(dir, "in-", name), parse);
    }

    private static void loadsOrOneLineError(byte[] input, Path file, Parse parse) throws IOException {
        Files.write(file, input);
        try {
            parse.run(file);
        } catch (FormatException e) {
            if (e.getMessage().contains("\n")) throw new AssertionError("not a one-line error: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            // the CLI prints a message's whitespace runs as one space (Main.oneLine), so it only has to say something
            if (e.getMessage() == null || e.getMessage().isBlank()) throw new AssertionError("an error without a message", e);
        } finally {
            Files.delete(file);
        }
    }

    @FuzzTest
    void safetensors(byte[] input) throws IOException {
        loadsOrOneLineError(input, ".safetensors", f -> SafeTensors.open(f).tensors().values().forEach(t -> {
            if (t.elementCount() < 1 << 16) t.toFloats();
        }));
    }

    @FuzzTest
    void gguf(byte[] input) throws IOException {
        loadsOrOneLineError(input, ".gguf", f -> {
            Gguf g = Gguf.open(f);
            if (g.has("tokenizer.ggml.tokens")) Tokenizers.fromGguf(g);
        });
    }

    @FuzzTest
    void llama2c(byte[] input) throws IOException {
        loadsOrOneLineError(input, ".bin", Llama2cCheckpoint::open);
    }

    @FuzzTest
    void config(byte[] input) throws IOException {
        loadsOrOneLineError(input, ".json", HfConfig::read);
    }

    @FuzzTest
    void tokenizerJson(byte[] input) throws IOException {
        Path tokDir = Files.createTempDirectory(dir, "tok");
        try {
            loadsOrOneLineError(input, tokDir.resolve("tokenizer.json"), f -> {
                Tokenizer t = Tokenizers.fromHfDirectory(tokDir);
                if (t != null) t.decode(t.encodeWithSpecial("Once upon a time, 12 cats<|im_end|>"));
            });
        } finally {
            Files.delete(tokDir);
        }
    }

    @FuzzTest
    void chatTemplate(byte[] input) throws IOException {
        loadsOrOneLineError(input, ".jinja", f -> {
            ChatTemplate t = ChatTemplate.compile(new String(input, StandardCharsets.UTF_8));
            t.render(List.of(new ChatTemplate.Message("system", "Be brief."), new ChatTemplate.Message("user", "Hi"),
                    new ChatTemplate.Message("assistant", "Hello")), true, "<s>", "</s>");
        });
    }

    @FuzzTest
    void trainingJsonl(byte[] input) throws IOException {
        if (tokenizer == null) tokenizer = Tokenizers.fromHfDirectory(Shared.path("models/tinylm-12l"));
        loadsOrOneLineError(input, ".jsonl", f -> TextData.load(List.of(f), tokenizer, 8, tokenizer.vocabSize()));
    }
}
