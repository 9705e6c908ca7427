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
import org.flexidepth4j.model.RopeConfig;

/**
 * Random-weight Phi-3-family checkpoints of a small shape, as a GGUF file (llama.cpp's phi3 names: fused attn_qkv, ffn_up
 * holding gate and up, rope_factors_short/long) and as an HF directory (fused qkv_proj and gate_up_proj, longrope
 * rope_scaling) from the same values. {@link #PHI35} (full rotation, sliding window, untied head) is what llama.cpp ran
 * for the references in {@code src/test/resources/org/flexidepth4j/load/phi3-*}; {@link #PHI4_MINI} has Phi-4-mini's
 * partial rotation and tied embeddings. {@code main} writes the Phi-3.5 GGUF: arguments OUT.gguf VOCAB.gguf.
 */
final class PhiCheckpoints {
    record Shape(int hidden, int ff, int layers, int heads, int kvHeads, int headDim, int rotaryDim, int window, boolean tied) {
        int maxPositions() {
            return 1024;
        }

        int originalMaxPositions() {
            return 256;
        }

        float[] shortFactors() {
            float[] f = new float[rotaryDim / 2];
            for (int i = 0; i < f.length; i++) f[i] = 1f + 0.05f * i;
            return f;
        }

        float[] longFactors() {
            float[] f = new float[rotaryDim / 2];
            for (int i = 0; i < f.length; i++) f[i] = 1f + 3f * i / (f.length - 1);
            return f;
        }

        float attentionFactor() {
            return (float) RopeConfig.LongRope.defaultAttentionFactor(maxPositions(), originalMaxPositions());
        }
    }

    static final Shape PHI35 = new Shape(128, 256, 6, 4, 2, 32, 32, 16, false);
    static final Shape PHI4_MINI = new Shape(128, 256, 6, 4, 2, 32, 24, 0, true);

    private PhiCheckpoints() {
    }

    public static void main(String[] args) throws IOException {
        gguf(PHI35, Gguf.open(Path.of(args[1])), Path.of(args[0]));
    }

    /** HF-named tensors (fused as Phi-3 checkpoints store them) in a fixed order, and their shapes. */
    static Map<String, float[]> tensors(Shape s, int vocab, Map<String, long[]> shapes) {
        Map<String, float[]> t = new LinkedHashMap<>();
        int d = s.hidden(), qd = s.heads() * s.headDim(), kvd = s.kvHeads() * s.headDim();
        long seed = 101;
        add(t, shapes, "model.embed_tokens.weight", normal(seed++, vocab * d, 0.5), vocab, d);
        for (int i = 0; i < s.layers(); i++) {
            String p = "model.layers." + i + ".";
            add(t, shapes, p + "input_layernorm.weight", plusOne(normal(seed++, d, 0.1)), d);
            add(t, shapes, p + "self_attn.qkv_proj.weight", normal(seed++, (qd + 2 * kvd) * d, 0.15), qd + 2 * kvd, d);
            add(t, shapes, p + "self_attn.o_proj.weight", normal(seed++, d * qd, 0.1), d, qd);
            add(t, shapes, p + "post_attention_layernorm.weight", plusOne(normal(seed++, d, 0.1)), d);
            add(t, shapes, p + "mlp.gate_up_proj.weight", normal(seed++, 2 * s.ff() * d, 0.1), 2 * s.ff(), d);
            add(t, shapes, p + "mlp.down_proj.weight", normal(seed++, d * s.ff(), 0.1), d, s.ff());
        }
        add(t, shapes, "model.norm.weight", plusOne(normal(seed++, d, 0.1)), d);
        if (!s.tied()) add(t, shapes, "lm_head.weight", normal(seed, vocab * d, 0.1), vocab, d);
        return t;
    }

    private static float[] plusOne(float[] v) {
        for (int i = 0; i < v.length; i++) v[i] += 1f;
        return v;
    }

    static Path gguf(Shape s, Gguf vocabulary, Path file) throws IOException {
        int vocab = vocabulary.getStringArray("tokenizer.ggml.tokens").length;
        GgufWriter w = new GgufWriter().put("general.architecture", "phi3").put("general.name", "random Phi 3.5 layout")
                .put("phi3.context_length", s.maxPositions()).put("phi3.rope.scaling.original_context_length", s.originalMaxPositions())
                .put("phi3.embedding_length", s.hidden()).put("phi3.feed_forward_length", s.ff()).put("phi3.block_count", s.layers())
                .put("phi3.attention.head_count", s.heads()).put("phi3.attention.head_count_kv", s.kvHeads())
                .put("phi3.attention.layer_norm_rms_epsilon", 1e-5f).put("phi3.rope.dimension_count", s.rotaryDim())
                .put("phi3.rope.freq_base", 10000f).put("phi3.attention.sliding_window", s.window())
                .put("phi3.rope.scaling.attn_factor", s.attentionFactor()).putTokenizerOf(vocabulary);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        tensors(s, vocab, shapes).forEach((name, values) -> w.tensor(RandomCheckpoints.ggufName(name, GGUF_LAYER_NAMES), values, shapes.get(name)));
        w.tensor("rope_factors_long.weight", s.longFactors(), s.rotaryDim() / 2);
        w.tensor("rope_factors_short.weight", s.shortFactors(), s.rotaryDim() / 2);
        return w.write(file);
    }

    static Path hf(Shape s, int vocab, Path dir) throws IOException {
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode();
        c.put("model_type", "phi3").put("hidden_size", s.hidden()).put("intermediate_size", s.ff()).put("num_hidden_layers", s.layers())
                .put("num_attention_heads", s.heads()).put("num_key_value_heads", s.kvHeads()).put("vocab_size", vocab)
                .put("max_position_embeddings", s.maxPositions()).put("original_max_position_embeddings", s.originalMaxPositions())
                .put("rms_norm_eps", 1e-5).put("rope_theta", 10000.0).put("tie_word_embeddings", s.tied())
                .put("partial_rotary_factor", (double) s.rotaryDim() / s.headDim());
        if (s.window() > 0) c.put("sliding_window", s.window());
        else c.putNull("sliding_window");
        ObjectNode rope = c.putObject("rope_scaling").put("type", "longrope");
        for (float f : s.shortFactors()) rope.withArray("short_factor").add(f);
        for (float f : s.longFactors()) rope.withArray("long_factor").add(f);
        Files.writeString(dir.resolve("config.json"), c.toPrettyString());
        Map<String, long[]> shapes = new LinkedHashMap<>();
        RandomCheckpoints.writeSafetensors(tensors(s, vocab, shapes), shapes, dir.resolve("model.safetensors"));
        return dir;
    }

    private static final Map<String, String> GGUF_LAYER_NAMES = Map.of(
            "input_layernorm.weight", "attn_norm.weight",
            "self_attn.qkv_proj.weight", "attn_qkv.weight",
            "self_attn.o_proj.weight", "attn_output.weight",
            "post_attention_layernorm.weight", "ffn_norm.weight",
            "mlp.gate_up_proj.weight", "ffn_up.weight",
            "mlp.down_proj.weight", "ffn_down.weight");
}
