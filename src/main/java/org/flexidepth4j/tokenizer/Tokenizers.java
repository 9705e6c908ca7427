package org.flexidepth4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Gguf;
import org.flexidepth4j.io.Json;

/** Finds and loads the tokenizer that belongs to a model file or directory. */
public final class Tokenizers {
    private Tokenizers() {
    }

    /** The tokenizer of an HF directory (tokenizer.json + tokenizer_config.json), or null when it has none. */
    public static Tokenizer fromHfDirectory(Path dir) {
        Path json = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(json)) return null;
        Path configFile = dir.resolve("tokenizer_config.json");
        JsonNode config = Files.isRegularFile(configFile) ? Json.read(configFile) : Json.MAPPER.createObjectNode();
        String bos = tokenString(config.path("bos_token"));
        List<String> eos = new ArrayList<>();
        eos.add(tokenString(config.path("eos_token")));
        BpeTokenizer tok = HfTokenizerJson.load(json, Json.read(json), bos, eos.toArray(String[]::new));
        String template = config.path("chat_template").isTextual() ? config.path("chat_template").asText() : null;
        tok.setChatTemplate(template);
        return tok;
    }

    /** Special tokens in tokenizer_config.json are strings or {"content": ...} objects. */
    private static String tokenString(JsonNode n) {
        if (n.isTextual()) return n.asText();
        if (n.isObject() && n.path("content").isTextual()) return n.path("content").asText();
        return null;
    }

    /** The tokenizer stored in a GGUF file's tokenizer.ggml.* metadata. */
    public static Tokenizer fromGguf(Gguf gguf) {
        return GgufVocab.tokenizer(gguf);
    }

    /** A tokenizer from a directory with tokenizer.json, a llama2.c tokenizer.bin, or a .gguf file. */
    public static Tokenizer load(Path path) {
        if (!Files.exists(path)) throw new FormatException(path, "file not found");
        if (Files.isDirectory(path)) {
            Tokenizer t = fromHfDirectory(path);
            if (t == null) throw new FormatException(path, "no tokenizer.json in this directory");
            return t;
        }
        String name = path.getFileName().toString();
        if (name.endsWith(".gguf")) return fromGguf(Gguf.open(path));
        if (name.endsWith(".json")) {
            Tokenizer t = fromHfDirectory(path.toAbsolutePath().getParent());
            if (t == null) throw new FormatException(path, "expected a file named tokenizer.json");
            return t;
        }
        return Llama2cTokenizer.load(path);
    }
}
