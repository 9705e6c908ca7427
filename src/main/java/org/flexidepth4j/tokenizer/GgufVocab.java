package org.flexidepth4j.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Gguf;

/** Builds the tokenizer described by a GGUF file's tokenizer.ggml.* metadata, as llama.cpp interprets it. */
final class GgufVocab {
    private static final int TYPE_UNKNOWN = 2, TYPE_CONTROL = 3, TYPE_USER_DEFINED = 4;

    private GgufVocab() {
    }

    static Tokenizer tokenizer(Gguf g) {
        String model = g.getString("tokenizer.ggml.model");
        String[] tokens = g.getStringArray("tokenizer.ggml.tokens");
        int n = tokens.length;
        int[] types = g.has("tokenizer.ggml.token_type") ? g.getIntArray("tokenizer.ggml.token_type") : new int[n];
        if (types.length != n) throw new FormatException(g.file(), "tokenizer.ggml.token_type has " + types.length + " entries for " + n + " tokens");
        boolean[] special = new boolean[n];
        List<AddedTokens.Token> specials = new ArrayList<>();
        Map<String, Integer> vocab = new HashMap<>();
        for (int i = 0; i < n; i++) {
            vocab.put(tokens[i], i);
            special[i] = types[i] == TYPE_CONTROL || types[i] == TYPE_UNKNOWN;
            if (types[i] == TYPE_CONTROL || types[i] == TYPE_USER_DEFINED) specials.add(new AddedTokens.Token(tokens[i], i, false, false, false));
        }
        int bos = tokenId(g, "tokenizer.ggml.bos_token_id", n);
        IntList eos = new IntList();
        for (String key : new String[] {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
            int id = tokenId(g, key, n);
            if (id >= 0) eos.add(id);
        }
        AbstractTokenizer tok = switch (model) {
            case "llama" -> {
                float[] scores = g.has("tokenizer.ggml.scores") ? g.getFloatArray("tokenizer.ggml.scores") : new float[n];
                if (scores.length != n) throw new FormatException(g.file(), "tokenizer.ggml.scores has " + scores.length + " entries for " + n + " tokens");
                int unk = g.has("tokenizer.ggml.unknown_token_id") ? tokenId(g, "tokenizer.ggml.unknown_token_id", n) : 0;
                var options = new SpmTokenizer.Options("▁", false, g.getBoolean("tokenizer.ggml.add_space_prefix", true),
                        g.getBoolean("tokenizer.ggml.add_bos_token", true), g.getBoolean("tokenizer.ggml.add_eos_token", false));
                yield new SpmTokenizer(tokens, scores, special, vocab, bos, eos.toArray(), unk, options, new AddedTokens(specials));
            }
            case "gpt2" -> {
                String[] mergeStrings = g.getStringArray("tokenizer.ggml.merges");
                List<String[]> pairs = new ArrayList<>(mergeStrings.length);
                for (String m : mergeStrings) {
                    int sp = m.indexOf(' ', 1);
                    if (sp < 0) throw new FormatException(g.file(), "merge '" + m + "' is not 'left right'");
                    pairs.add(new String[] {m.substring(0, sp), m.substring(sp + 1)});
                }
                String pre = g.getString("tokenizer.ggml.pre", "default");
                boolean ignoreMerges = List.of("llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral").contains(pre);
                PreTokenizer split = llamaCppPreTokenizer(g, pre);
                PreTokenizer pipeline = PreTokenizer.sequence(List.of(split, PreTokenizer.byteLevel(false, false)));
                Bpe bpe = new Bpe(vocab, Bpe.mergeTable(vocab, pairs), -1, false, false, ignoreMerges);
                int[] prefix = g.getBoolean("tokenizer.ggml.add_bos_token", false) && bos >= 0 ? new int[] {bos} : new int[0];
                int[] suffix = g.getBoolean("tokenizer.ggml.add_eos_token", false) && eos.size() > 0 ? new int[] {eos.toArray()[0]} : new int[0];
                yield new BpeTokenizer(tokens, special, bos, eos.toArray(), bpe, null, pipeline, new AddedTokens(specials),
                        BpeTokenizer.Decoding.BYTE_LEVEL, 0, prefix, suffix);
            }
            default -> throw new FormatException(g.file(), "tokenizer.ggml.model '" + model + "' is not supported (llama, gpt2)");
        };
        tok.setChatTemplate(g.getString("tokenizer.chat_template", null));
        return tok;
    }

    /** The regex splits llama.cpp (llama-vocab.cpp) uses for a tokenizer.ggml.pre value, applied in sequence. */
    private static PreTokenizer llamaCppPreTokenizer(Gguf g, String pre) {
        String gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
        List<String> regexes = switch (pre) {
            case "default" -> List.of("[\\p{P}\\$\\+<=>\\^~\\|]+", gpt2, "\\p{N}+", "[0-9][0-9][0-9]");
            case "gpt-2", "gpt2", "mpt", "olmo", "jais", "trillion", "phi-2", "jina-es", "jina-de", "jina-v1-en", "jina-v2-es",
                 "jina-v2-de", "jina-v2-code", "roberta-bpe" -> List.of(gpt2);
            case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b" -> List.of("\\p{N}", gpt2);
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral", "dbrx", "smaug-bpe" -> List.of(PreTokenizer.LLAMA3);
            case "qwen2", "stablelm2", "deepseek-r1-qwen", "hunyuan", "megrez" -> List.of(PreTokenizer.QWEN2);
            default -> throw new FormatException(g.file(), "tokenizer.ggml.pre '" + pre + "' is not supported (gpt-2, llama-bpe, qwen2, smollm, ...)");
        };
        List<PreTokenizer> steps = new ArrayList<>();
        for (String r : regexes) steps.add(PreTokenizer.regex(r, PreTokenizer.Behavior.ISOLATED, false));
        return PreTokenizer.sequence(steps);
    }

    private static int tokenId(Gguf g, String key, int n) {
        if (!g.has(key)) return -1;
        int id = g.getInt(key);
        if (id < 0 || id >= n) throw new FormatException(g.file(), key + " = " + id + " is outside the vocabulary of " + n);
        return id;
    }
}
