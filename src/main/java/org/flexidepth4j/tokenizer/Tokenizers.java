package org.flexidepth4j.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import org.flexidepth4j.io.FormatException;

/** Finds and loads the tokenizer that belongs to a model file or directory. */
public final class Tokenizers {
    private Tokenizers() {
    }

    /** The tokenizer of an HF directory (tokenizer.json + tokenizer_config.json), or null when it has none. */
    public static Tokenizer fromHfDirectory(Path dir) {
        return null;
    }

    /** The tokenizer in {@code path}: an HF directory (or one holding only tokenizer files). */
    public static Tokenizer load(Path path) {
        if (!Files.exists(path)) throw new FormatException(path, "file not found");
        Tokenizer tokenizer = Files.isDirectory(path) ? fromHfDirectory(path) : null;
        if (tokenizer == null) throw new FormatException(path, "no tokenizer found");
        return tokenizer;
    }
}
