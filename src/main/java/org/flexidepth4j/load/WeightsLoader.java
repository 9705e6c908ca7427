package org.flexidepth4j.load;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.LayerWeights;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.tensor.Matrix;

/**
 * Builds {@link ModelWeights} from tensors under HF names; every format maps its names onto these first, so this is
 * the one place that knows what a Llama-family decoder needs.
 */
public final class WeightsLoader {
    private WeightsLoader() {
    }

    /**
     * Looks up tensors by HF name, checking every shape against the config and, with {@code checkFinite}, every
     * weight matrix for NaN or infinity ({@link WeightCheck}).
     */
    public static ModelWeights fromTensors(ModelConfig c, Map<String, TensorEntry> t, Path source, boolean checkFinite) {
        if (c.numLayers() > t.size()) {
            throw new FormatException(source, "the config has " + c.numLayers() + " layers but the checkpoint holds only " + t.size() + " tensors");
        }
        Lookup in = new Lookup(splitFused(c, t), source, checkFinite, c.unitOffsetNorms());
        int d = c.hiddenSize(), qd = c.queryDim(), kvd = c.kvDim(), ff = c.intermediateSize(), hd = c.headDim();
        Matrix embedding = in.matrix("model.embed_tokens.weight", c.vocabSize(), d);
        LayerWeights[] layers = new LayerWeights[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i + ".";
            boolean sandwich = c.variant().sandwichNorms();
            LayerWeights layer = new LayerWeights(
                    in.vector(p + "input_layernorm.weight", d),
                    in.matrix(p + "self_attn.q_proj.weight", qd, d),
                    in.matrix(p + "self_attn.k_proj.weight", kvd, d),
                    in.matrix(p + "self_attn.v_proj.weight", kvd, d),
                    in.matrix(p + "self_attn.o_proj.weight", d, qd),
                    c.attentionBias() ? in.vector(p + "self_attn.q_proj.bias", qd) : null,
                    c.attentionBias() ? in.vector(p + "self_attn.k_proj.bias", kvd) : null,
                    c.attentionBias() ? in.vector(p + "self_attn.v_proj.bias", kvd) : null,
                    c.qkNorm() ? in.vector(p + "self_attn.q_norm.weight", hd) : null,
                    c.qkNorm() ? in.vector(p + "self_attn.k_norm.weight", hd) : null,
                    in.vector(p + (sandwich ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"), d),
                    in.matrix(p + "mlp.gate_proj.weight", ff, d),
                    in.matrix(p + "mlp.up_proj.weight", ff, d),
                    in.matrix(p + "mlp.down_proj.weight", d, ff));
            layers[i] = !sandwich ? layer : layer.withPostNorms(new LayerWeights.PostNorms(
                    in.vector(p + "post_attention_layernorm.weight", d), in.vector(p + "post_feedforward_layernorm.weight", d)));
        }
        float[] norm = in.vector("model.norm.weight", d);
        Matrix head = c.tiedEmbeddings() || !t.containsKey("lm_head.weight") ? embedding : in.matrix("lm_head.weight", c.vocabSize(), d);
        if (!c.tiedEmbeddings() && !t.containsKey("lm_head.weight")) throw new FormatException(source, "tensor lm_head.weight is missing (embeddings are not tied)");
        return new ModelWeights(embedding, layers, norm, head);
    }

    /**
     * The tensors with Phi-3's fused projections split into row views under the separate names: qkv_proj into
     * q/k/v_proj, gate_up_proj into gate_proj (first half) and up_proj.
     */
    private static Map<String, TensorEntry> splitFused(ModelConfig c, Map<String, TensorEntry> t) {
        if (t.keySet().stream().noneMatch(n -> n.endsWith("qkv_proj.weight") || n.endsWith("gate_up_proj.weight"))) return t;
        Map<String, TensorEntry> split = new LinkedHashMap<>(t);
        int qd = c.queryDim(), kvd = c.kvDim(), ff = c.intermediateSize();
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            TensorEntry qkv = split.remove(p + "self_attn.qkv_proj.weight");
            if (qkv != null) {
                qkv.expectShape(qd + 2L * kvd, c.hiddenSize());
                split.put(p + "self_attn.q_proj.weight", qkv.rows(p + "self_attn.q_proj.weight", 0, qd));
                split.put(p + "self_attn.k_proj.weight", qkv.rows(p + "self_attn.k_proj.weight", qd, kvd));
                split.put(p + "self_attn.v_proj.weight", qkv.rows(p + "self_attn.v_proj.weight", qd + kvd, kvd));
            }
            TensorEntry gateUp = split.remove(p + "mlp.gate_up_proj.weight");
            if (gateUp != null) {
                gateUp.expectShape(2L * ff, c.hiddenSize());
                split.put(p + "mlp.gate_proj.weight", gateUp.rows(p + "mlp.gate_proj.weight", 0, ff));
                split.put(p + "mlp.up_proj.weight", gateUp.rows(p + "mlp.up_proj.weight", ff, ff));
            }
        }
        return split;
    }

    /** {@code unitOffsetNorms}: norm weights w multiply as 1 + w (Gemma's RMSNorm), so 1 is added at load. */
    private record Lookup(Map<String, TensorEntry> tensors, Path source, boolean checkFinite, boolean unitOffsetNorms) {
        TensorEntry entry(String name) {
            TensorEntry e = tensors.get(name);
            if (e == null) throw new FormatException(source, "tensor " + name + " is missing");
            return e;
        }

        Matrix matrix(String name, int rows, int cols) {
            TensorEntry e = entry(name).expectShape(rows, cols);
            Matrix m = e.asMatrix();
            if (checkFinite) WeightCheck.requireFinite(e, m);
            return m;
        }

        float[] vector(String name, int n) {
            float[] v = entry(name).expectShape(n).toFloats();
            for (float f : v) if (!Float.isFinite(f)) throw new FormatException(entry(name).file(), "tensor " + name + " contains NaN or infinity");
            if (unitOffsetNorms && name.endsWith("norm.weight")) for (int i = 0; i < v.length; i++) v[i] += 1f;
            return v;
        }
    }
}
