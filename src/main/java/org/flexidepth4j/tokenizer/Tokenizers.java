package org.flexidepth4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Gguf;
import org.flexidepth4j.io.Json;

/** Finds and loads the tokenizer that belongs to a model file or directory. */
public final class Tokenizers {
    private Tokenizers() {
    }

    /**
     * The tokenizer of an HF directory, or null when it has none: tokenizer.json, or else GPT-2-style
     * vocab.json + merges.txt (encoder.json + vocab.bpe in OpenAI's naming); tokenizer_config.json gives
     * bos/eos and the chat template, generation_config.json further eos ids.
     */
    public static Tokenizer fromHfDirectory(Path dir) {
        Path json = dir.resolve("tokenizer.json");
        JsonNode root;
        Path source;
        if (Files.isRegularFile(json)) {
            root = Json.read(json);
            source = json;
        } else {
            source = Files.isRegularFile(dir.resolve("vocab.json")) ? dir.resolve("vocab.json") : dir.resolve("encoder.json");
            Path merges = Files.isRegularFile(dir.resolve("merges.txt")) ? dir.resolve("merges.txt") : dir.resolve("vocab.bpe");
            if (!Files.isRegularFile(source) || !Files.isRegularFile(merges)) return null;
            root = gpt2TokenizerJson(dir, source, merges);
        }
        Path configFile = dir.resolve("tokenizer_config.json");
        JsonNode config = Files.isRegularFile(configFile) ? Json.read(configFile) : Json.MAPPER.createObjectNode();
        String bos = tokenString(config.path("bos_token"));
        String eos = tokenString(config.path("eos_token"));
        if (bos == null && eos == null && root.path("model").path("vocab").has("<|endoftext|>")) bos = eos = "<|endoftext|>";
        Path genFile = dir.resolve("generation_config.json");
        JsonNode eosIds = Files.isRegularFile(genFile) ? Json.read(genFile).path("eos_token_id") : Json.MAPPER.createArrayNode();
        int[] extraEos = eosIds.isInt() ? new int[] {eosIds.asInt()} : new int[eosIds.size()];
        if (eosIds.isArray()) for (int i = 0; i < extraEos.length; i++) extraEos[i] = eosIds.get(i).asInt();
        BpeTokenizer tok = HfTokenizerJson.load(source, root, bos, new String[] {eos}, extraEos);
        tok.setChatTemplate(chatTemplate(config.path("chat_template")));
        return tok;
    }

    /** chat_template is a string, or a list of {name, template} of which "default" is the one to use. */
    private static String chatTemplate(JsonNode n) {
        if (n.isTextual()) return n.asText();
        for (JsonNode t : n) if ("default".equals(t.path("name").asText())) return t.path("template").asText();
        return null;
    }

    /** The tokenizer.json equivalent of a GPT-2 vocab.json + merges.txt pair (byte-level BPE, GPT-2 regex). */
    private static JsonNode gpt2TokenizerJson(Path dir, Path vocab, Path merges) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        ObjectNode model = root.putObject("model").put("type", "BPE");
        model.set("vocab", Json.read(vocab));
        ArrayNode mergeList = model.putArray("merges");
        List<String> lines;
        try {
            lines = Files.readAllLines(merges);
        } catch (IOException e) {
            throw new FormatException(merges, "cannot read: " + e.getMessage());
        }
        for (String line : lines) if (!line.isBlank() && !line.startsWith("#version")) mergeList.add(line);
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", true);
        root.putObject("decoder").put("type", "ByteLevel");
        ArrayNode added = root.putArray("added_tokens");
        if (model.path("vocab").has("<|endoftext|>")) {
            added.addObject().put("id", model.path("vocab").path("<|endoftext|>").asInt()).put("content", "<|endoftext|>").put("special", true);
        }
        Path extra = dir.resolve("added_tokens.json");
        if (Files.isRegularFile(extra)) {
            Json.read(extra).fields().forEachRemaining(e -> added.addObject().put("id", e.getValue().asInt()).put("content", e.getKey()).put("special", true));
        }
        return root;
    }

    /** Special tokens in tokenizer_config.json are strings or {"content": ...} objects. */
    private static String tokenString(JsonNode n) {
        if (n.isTextual()) return n.asText();
        if (n.isObject() && n.path("content").isTextual()) return n.path("content").asText();
        return null;
    }

    /** The tokenizer stored in a GGUF file's tokenizer.ggml.* metadata, or null when the file has none. */
    public static Tokenizer fromGguf(Gguf gguf) {
        return gguf.has("tokenizer.ggml.model") ? GgufVocab.tokenizer(gguf) : null;
    }

    /** A tokenizer from an HF-style directory, a tokenizer.json, a llama2.c tokenizer.bin, or a .gguf file. */
    public static Tokenizer load(Path path) {
        if (!Files.exists(path)) throw new FormatException(path, "file not found");
        if (Files.isDirectory(path)) {
            Tokenizer t = fromHfDirectory(path);
            if (t != null) return t;
            if (Files.isRegularFile(path.resolve("tokenizer.bin"))) return Llama2cTokenizer.load(path.resolve("tokenizer.bin"));
            throw new FormatException(path, "no tokenizer.json, vocab.json + merges.txt or tokenizer.bin in this directory");
        }
        String name = path.getFileName().toString();
        if (name.endsWith(".gguf")) {
            Tokenizer t = fromGguf(Gguf.open(path));
            if (t == null) throw new FormatException(path, "no tokenizer.ggml.model metadata in this GGUF file");
            return t;
        }
        if (name.endsWith(".json")) {
            Tokenizer t = fromHfDirectory(path.toAbsolutePath().getParent());
            if (t == null || !name.equals("tokenizer.json")) throw new FormatException(path, "expected a file named tokenizer.json");
            return t;
        }
        return Llama2cTokenizer.load(path);
    }
}
