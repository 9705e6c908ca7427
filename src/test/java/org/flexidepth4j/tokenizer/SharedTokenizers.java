package org.flexidepth4j.tokenizer;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.flexidepth4j.Shared;

/** Tokenizers from ../shared, loaded once per test JVM (the big vocabularies take a while to parse). */
final class SharedTokenizers {
    private static final Map<String, Tokenizer> CACHE = new ConcurrentHashMap<>();

    private SharedTokenizers() {
    }

    static Tokenizer get(String sharedPath) {
        return CACHE.computeIfAbsent(sharedPath, p -> Tokenizers.load(Shared.path(p)));
    }
}
