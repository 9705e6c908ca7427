package org.flexidepth4j.load;

import static org.flexidepth4j.load.RandomCheckpoints.add;
import static org.flexidepth4j.load.RandomCheckpoints.normal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.flexidepth4j.io.Gguf;
import org.flexidepth4j.io.GgufWriter;

/**
 * Random-weight Gemma 2 and Gemma 3 checkpoints of a small shape, written from the same values as a GGUF file (llama.cpp's
 * tensor names and keys, norms stored as 1 + w as its converter does) and as an HF directory (config.json +
 * model.safetensors, norms as w). The weights are large enough that attention is far from uniform and greedy choices
 * are not near-ties. The Gemma 2 GGUF is what llama.cpp ran for the references in {@code src/test/resources/gemma};
 * {@code main} writes it: {@code java -cp target/classes:target/test-classes org.flexidepth4j.load.GemmaCheckpoints
 * OUT.gguf ../shared/models/ggml-vocab/ggml-vocab-llama-spm.gguf}.
 */
final class GemmaCheckpoints {
    /**
     * The shape: llama.cpp's gemma2 only runs 26, 42 or 46 layers (the sizes it knows), so the Gemma 2 test model has 26
     * thin ones.
     */
    record Shape(String arch, int hidden, int ff, int layers, int heads, int kvHeads, int headDim, int window, float attentionCap, float finalCap) {
        boolean gemma3() {
            return arch.equals("gemma3");
        }
    }

    static final Shape GEMMA2 = new Shape("gemma2", 128, 256, 26, 4, 2, 32, 16, 10f, 15f);
    static final Shape GEMMA3 = new Shape("gemma3", 128, 256, 8, 4, 2, 32, 12, 0f, 0f);
    static final double GEMMA3_GLOBAL_THETA = 1_000_000, GEMMA3_LOCAL_THETA = 10_000;

    private GemmaCheckpoints() {
    }

    public static void main(String[] args) throws IOException {
        gguf(GEMMA2, Gguf.open(Path.of(args[1])), Path.of(args[0]));
    }

    /** The HF-named tensors with HF's norm convention (w, applied as 1 + w), in a fixed order, and their shapes. */
    static Map<String, float[]> tensors(Shape s, int vocab, Map<String, long[]> shapes) {
        Map<String, float[]> t = new LinkedHashMap<>();
        int d = s.hidden(), qd = s.heads() * s.headDim(), kvd = s.kvHeads() * s.headDim();
        long[] seed = {1};
        add(t, shapes, "model.embed_tokens.weight", normal(seed[0]++, vocab * d, 0.1), vocab, d);
        for (int i = 0; i < s.layers(); i++) {
            String p = "model.layers." + i + ".";
            add(t, shapes, p + "input_layernorm.weight", normal(seed[0]++, d, 0.1), d);
            add(t, shapes, p + "self_attn.q_proj.weight", normal(seed[0]++, qd * d, 0.15), qd, d);
            add(t, shapes, p + "self_attn.k_proj.weight", normal(seed[0]++, kvd * d, 0.15), kvd, d);
            add(t, shapes, p + "self_attn.v_proj.weight", normal(seed[0]++, kvd * d, 0.1), kvd, d);
            add(t, shapes, p + "self_attn.o_proj.weight", normal(seed[0]++, d * qd, 0.1), d, qd);
            if (s.gemma3()) {
                add(t, shapes, p + "self_attn.q_norm.weight", normal(seed[0]++, s.headDim(), 0.1), s.headDim());
                add(t, shapes, p + "self_attn.k_norm.weight", normal(seed[0]++, s.headDim(), 0.1), s.headDim());
            }
            add(t, shapes, p + "post_attention_layernorm.weight", normal(seed[0]++, d, 0.1), d);
            add(t, shapes, p + "pre_feedforward_layernorm.weight", normal(seed[0]++, d, 0.1), d);
            add(t, shapes, p + "mlp.gate_proj.weight", normal(seed[0]++, s.ff() * d, 0.1), s.ff(), d);
            add(t, shapes, p + "mlp.up_proj.weight", normal(seed[0]++, s.ff() * d, 0.1), s.ff(), d);
            add(t, shapes, p + "mlp.down_proj.weight", normal(seed[0]++, d * s.ff(), 0.1), d, s.ff());
            add(t, shapes, p + "post_feedforward_layernorm.weight", normal(seed[0]++, d, 0.1), d);
        }
        add(t, shapes, "model.norm.weight", normal(seed[0]++, d, 0.1), d);
        return t;
    }

    /** The GGUF file llama.cpp reads: its names, 1 + w norms, the vocabulary of {@code vocabulary}. */
    static Path gguf(Shape s, Gguf vocabulary, Path file) throws IOException {
        int vocab = vocabulary.getStringArray("tokenizer.ggml.tokens").length;
        String a = s.arch();
        GgufWriter w = new GgufWriter().put("general.architecture", a).put("general.name", "random " + a + " shape")
                .put(a + ".context_length", 512).put(a + ".embedding_length", s.hidden()).put(a + ".block_count", s.layers())
                .put(a + ".feed_forward_length", s.ff()).put(a + ".attention.head_count", s.heads())
                .put(a + ".attention.head_count_kv", s.kvHeads()).put(a + ".attention.key_length", s.headDim())
                .put(a + ".attention.value_length", s.headDim()).put(a + ".attention.layer_norm_rms_epsilon", 1e-6f)
                .put(a + ".attention.sliding_window", s.window());
        if (s.gemma3()) w.put(a + ".rope.freq_base", (float) GEMMA3_GLOBAL_THETA);
        else w.put(a + ".attn_logit_softcapping", s.attentionCap()).put(a + ".final_logit_softcapping", s.finalCap());
        w.putTokenizerOf(vocabulary);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        tensors(s, vocab, shapes).forEach((name, values) -> {
            float[] stored = values;
            if (name.endsWith("norm.weight")) {
                stored = new float[values.length];
                for (int i = 0; i < values.length; i++) stored[i] = values[i] + 1f;
            }
            w.tensor(RandomCheckpoints.ggufName(name, GGUF_LAYER_NAMES), stored, shapes.get(name));
        });
        return w.write(file);
    }

    /** The HF directory: config.json as transformers writes it for this shape, and model.safetensors. */
    static Path hf(Shape s, int vocab, Path dir) throws IOException {
        Files.createDirectories(dir);
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.put("model_type", s.gemma3() ? "gemma3_text" : "gemma2").put("hidden_size", s.hidden()).put("intermediate_size", s.ff())
                .put("num_hidden_layers", s.layers()).put("num_attention_heads", s.heads()).put("num_key_value_heads", s.kvHeads())
                .put("head_dim", s.headDim()).put("vocab_size", vocab).put("max_position_embeddings", 512).put("rms_norm_eps", 1e-6)
                .put("hidden_activation", "gelu_pytorch_tanh").put("query_pre_attn_scalar", s.headDim()).put("sliding_window", s.window())
                .put("tie_word_embeddings", true);
        if (s.gemma3()) {
            c.put("rope_theta", GEMMA3_GLOBAL_THETA).put("rope_local_base_freq", GEMMA3_LOCAL_THETA).put("sliding_window_pattern", 6)
                    .putNull("attn_logit_softcapping").putNull("final_logit_softcapping");
        } else {
            c.put("rope_theta", 10000.0).put("attn_logit_softcapping", s.attentionCap()).put("final_logit_softcapping", s.finalCap());
        }
        Files.writeString(dir.resolve("config.json"), c.toPrettyString());
        Map<String, long[]> shapes = new LinkedHashMap<>();
        RandomCheckpoints.writeSafetensors(tensors(s, vocab, shapes), shapes, dir.resolve("model.safetensors"));
        return dir;
    }

    private static final Map<String, String> GGUF_LAYER_NAMES = Map.ofEntries(
            Map.entry("input_layernorm.weight", "attn_norm.weight"),
            Map.entry("self_attn.q_proj.weight", "attn_q.weight"),
            Map.entry("self_attn.k_proj.weight", "attn_k.weight"),
            Map.entry("self_attn.v_proj.weight", "attn_v.weight"),
            Map.entry("self_attn.o_proj.weight", "attn_output.weight"),
            Map.entry("self_attn.q_norm.weight", "attn_q_norm.weight"),
            Map.entry("self_attn.k_norm.weight", "attn_k_norm.weight"),
            Map.entry("post_attention_layernorm.weight", "post_attention_norm.weight"),
            Map.entry("pre_feedforward_layernorm.weight", "ffn_norm.weight"),
            Map.entry("mlp.gate_proj.weight", "ffn_gate.weight"),
            Map.entry("mlp.up_proj.weight", "ffn_up.weight"),
            Map.entry("mlp.down_proj.weight", "ffn_down.weight"),
            Map.entry("post_feedforward_layernorm.weight", "post_ffw_norm.weight"));
}
