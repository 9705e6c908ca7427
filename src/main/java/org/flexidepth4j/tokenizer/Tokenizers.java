package org.flexidepth4j.tokenizer;

import java.nio.file.Path;

/** Finds and loads the tokenizer that belongs to a model file or directory. */
public final class Tokenizers {
    private Tokenizers() {
    }

    /** The tokenizer of an HF directory (tokenizer.json + tokenizer_config.json), or null when it has none. */
    public static Tokenizer fromHfDirectory(Path dir) {
        return null;
    }
}
