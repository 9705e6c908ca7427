package org.flexidepth4j.model;

import java.nio.file.Path;
import org.flexidepth4j.tokenizer.Tokenizer;

/**
 * A loaded model: where it came from, its transformer, its tokenizer (null when the format has none and none
 * was given) and the skip policy its files carry (FlexiDepth routers, or {@link SkipPolicy#NONE}).
 */
public record Model(Path source, String format, Transformer transformer, Tokenizer tokenizer, SkipPolicy defaultPolicy) {
    public Model {
        transformer.label(String.valueOf(source));
    }

    public ModelConfig config() {
        return transformer.config();
    }

    public Tokenizer requireTokenizer() {
        if (tokenizer == null) throw new IllegalArgumentException(source + ": no tokenizer found (give one with --tokenizer)");
        return tokenizer;
    }

    public Model withPolicy(SkipPolicy policy) {
        return new Model(source, format, transformer, tokenizer, policy);
    }
}
