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
        ObjectNode root = (ObjectNode) Json.read(Shared.path("models/" + base + "/tokenizer.json"));
        edit.accept(root);
        Path dir = Files.createDirectories(tmp.resolve(variant));
        Files.writeString(dir.resolve("tokenizer.json"), Json.MAPPER.writeValueAsString(root));
        Tokenizer ours = Tokenizers.fromHfDirectory(dir);
        List<String> texts = HfOracleTest.strings(variant.hashCode(), 80);
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
