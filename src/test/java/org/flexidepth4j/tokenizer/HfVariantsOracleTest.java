package org.flexidepth4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pre-tokenizer, normalizer and added-token configurations that the shared files lack (Llama-3 and Qwen2 split
 * regexes with ignore_merges, NFC, ByteLevel prefix space, Metaspace, lstrip/rstrip/single_word added tokens),
 * built by editing the shared tokenizer.json files and checked against HF tokenizers (DJL, test only).
 */
class HfVariantsOracleTest {
    private static final String LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    @TempDir
    Path tmp;

    private void check(String base, String variant, Consumer<ObjectNode> edit) throws Exception {
        check(base, variant, edit, null);
    }

    /** With {@code ggufPre}, the tokenizer under test is a GGUF vocabulary written from the edited tokenizer.json. */
    private void check(String base, String variant, Consumer<ObjectNode> edit, String ggufPre) throws Exception {
        ObjectNode root = (ObjectNode) Json.read(Shared.path("models/" + base + "/tokenizer.json"));
        edit.accept(root);
        Path dir = Files.createDirectories(tmp.resolve(variant));
        Files.writeString(dir.resolve("tokenizer.json"), Json.MAPPER.writeValueAsString(root));
        Tokenizer ours = ggufPre == null ? Tokenizers.fromHfDirectory(dir) : Tokenizers.load(writeGguf(root, ggufPre, dir.resolve("vocab.gguf")));
        List<String> texts = HfOracleTest.strings(variant.hashCode(), 60);
        texts.addAll(List.of("I'LL DON'T We'Re", "x <tool>  y", "a<tool>b", "say hello world", "hello", "shello hello_", "12345678 9",
                "line\r\n\r\nnext", "e\u0301t\u00e9"));
        try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(dir.resolve("tokenizer.json"), Map.of())) {
            for (String text : texts) {
                Encoding e = hf.encode(text, false, false);
                int[] expected = new int[e.getIds().length];
                for (int i = 0; i < expected.length; i++) expected[i] = (int) e.getIds()[i];
                assertThat(ours.encode(text)).as("%s [%s]", variant, text).containsExactly(expected);
                assertThat(ours.decode(expected)).as("%s decode [%s]", variant, text).isEqualTo(hf.decode(e.getIds(), false));
            }
        }
    }

    /** A vocab-only GGUF (tokenizer.ggml.model gpt2) with the vocabulary and merges of a byte-level tokenizer.json. */
    private static Path writeGguf(ObjectNode root, String pre, Path file) throws Exception {
        String[] tokens = new String[root.path("model").path("vocab").size()];
        root.path("model").path("vocab").fields().forEachRemaining(e -> tokens[e.getValue().asInt()] = e.getKey());
        int[] types = new int[tokens.length];
        java.util.Arrays.fill(types, 1);
        for (var a : root.path("added_tokens")) if (a.path("special").asBoolean()) types[a.path("id").asInt()] = 3;
        List<String> merges = new java.util.ArrayList<>();
        for (var m : root.path("model").path("merges")) merges.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        java.util.function.LongConsumer u64 = v -> out.writeBytes(b.clear().putLong(v).array());
        java.util.function.IntConsumer u32 = v -> out.write(java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(v).array(), 0, 4);
        Consumer<String> str = v -> {
            byte[] bytes = v.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            u64.accept(bytes.length);
            out.writeBytes(bytes);
        };
        u32.accept(0x46554747);
        u32.accept(3);
        u64.accept(0);
        u64.accept(5);
        str.accept("tokenizer.ggml.model");
        u32.accept(8);
        str.accept("gpt2");
        str.accept("tokenizer.ggml.pre");
        u32.accept(8);
        str.accept(pre);
        str.accept("tokenizer.ggml.tokens");
        u32.accept(9);
        u32.accept(8);
        u64.accept(tokens.length);
        for (String t : tokens) str.accept(t);
        str.accept("tokenizer.ggml.token_type");
        u32.accept(9);
        u32.accept(5);
        u64.accept(types.length);
        for (int t : types) u32.accept(t);
        str.accept("tokenizer.ggml.merges");
        u32.accept(9);
        u32.accept(8);
        u64.accept(merges.size());
        for (String m : merges) str.accept(m);
        Files.write(file, out.toByteArray());
        return file;
    }

    private static ObjectNode split(ObjectNode root, String regex) {
        ObjectNode split = root.objectNode().put("type", "Split").put("behavior", "Isolated").put("invert", false);
        split.putObject("pattern").put("Regex", regex);
        return split;
    }

    private static ObjectNode byteLevel(ObjectNode root, boolean prefixSpace, boolean useRegex) {
        return root.objectNode().put("type", "ByteLevel").put("add_prefix_space", prefixSpace).put("trim_offsets", true).put("use_regex", useRegex);
    }

    @Test
    void llama3SplitWithIgnoreMerges() throws Exception {
        check("tinylm-12l", "llama3", root -> {
            ObjectNode seq = root.putObject("pre_tokenizer").put("type", "Sequence");
            seq.putArray("pretokenizers").add(split(root, LLAMA3)).add(byteLevel(root, false, false));
            ((ObjectNode) root.get("model")).put("ignore_merges", true);
        });
    }

    @Test
    void llama3GgufVocabulary() throws Exception {
        check("tinylm-12l", "llama3-gguf", root -> {
            ObjectNode seq = root.putObject("pre_tokenizer").put("type", "Sequence");
            seq.putArray("pretokenizers").add(split(root, LLAMA3)).add(byteLevel(root, false, false));
            ((ObjectNode) root.get("model")).put("ignore_merges", true);
        }, "llama-bpe");
    }

    @Test
    void qwen2SplitWithNfc() throws Exception {
        check("smollm-tokenizer", "qwen2", root -> {
            root.putObject("normalizer").put("type", "NFC");
            ObjectNode seq = root.putObject("pre_tokenizer").put("type", "Sequence");
            seq.putArray("pretokenizers").add(split(root, QWEN2)).add(byteLevel(root, false, false));
            root.putNull("truncation");
            root.putNull("padding");
        });
    }

    @Test
    void byteLevelPrefixSpaceAndAddedTokenFlags() throws Exception {
        check("tinylm-12l", "prefix", root -> {
            root.set("pre_tokenizer", byteLevel(root, true, true));
            ArrayNode added = (ArrayNode) root.get("added_tokens");
            added.addObject().put("id", 8192).put("content", "<tool>").put("single_word", false).put("lstrip", true).put("rstrip", true)
                    .put("normalized", false).put("special", true);
            added.addObject().put("id", 8193).put("content", "hello").put("single_word", true).put("lstrip", false).put("rstrip", false)
                    .put("normalized", false).put("special", false);
        });
    }

    @Test
    void metaspacePreTokenizerWithByteFallbackDecoder() throws Exception {
        check("mistral-tokenizer", "metaspace-bytes", root -> {
            root.putNull("normalizer");
            root.putObject("pre_tokenizer").put("type", "Metaspace").put("replacement", "▁").put("prepend_scheme", "first").put("split", false);
        });
    }

    @Test
    void metaspacePreTokenizer() throws Exception {
        check("mistral-tokenizer", "metaspace", root -> {
            root.putNull("normalizer");
            root.putObject("pre_tokenizer").put("type", "Metaspace").put("replacement", "▁").put("prepend_scheme", "first").put("split", false);
            root.putObject("decoder").put("type", "Metaspace").put("replacement", "▁").put("prepend_scheme", "first").put("split", false);
        });
    }
}
