package org.flexidepth4j.load;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.Experts;
import org.flexidepth4j.model.LayerWeights;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.model.MoeConfig;
import org.flexidepth4j.tensor.Matrices;
import org.flexidepth4j.tensor.Matrix;

/**
 * Builds {@link ModelWeights} from tensors under HF names; every format maps its names onto these first, so this is
 * the one place that knows what a Llama-family decoder needs.
 */
public final class WeightsLoader {
    /**
     * Under a layer's prefix, the stacked 3-D expert tensors of a GGUF file ({@code mlp.experts.gate_proj.weight}
     * [experts, ff, hidden], ...); HF checkpoints hold one tensor per expert instead.
     */
    public static final String STACKED_EXPERTS = "mlp.experts.";

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
        boolean moe = c.moe() != null;
        boolean wholeQkNorm = c.architecture().equals("olmoe"); // OLMoE norms q and k over the whole projection
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
                    c.qkNorm() ? in.vector(p + "self_attn.q_norm.weight", wholeQkNorm ? qd : hd) : null,
                    c.qkNorm() ? in.vector(p + "self_attn.k_norm.weight", wholeQkNorm ? kvd : hd) : null,
                    in.vector(p + (sandwich ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"), d),
                    moe ? null : in.matrix(p + "mlp.gate_proj.weight", ff, d),
                    moe ? null : in.matrix(p + "mlp.up_proj.weight", ff, d),
                    moe ? null : in.matrix(p + "mlp.down_proj.weight", d, ff));
            if (sandwich) layer = layer.withPostNorms(new LayerWeights.PostNorms(
                    in.vector(p + "post_attention_layernorm.weight", d), in.vector(p + "post_feedforward_layernorm.weight", d)));
            layers[i] = moe ? layer.withExperts(experts(c, in, p, i)) : layer;
        }
        float[] norm = in.vector("model.norm.weight", d);
        Matrix head = c.tiedEmbeddings() || !t.containsKey("lm_head.weight") ? embedding : in.matrix("lm_head.weight", c.vocabSize(), d);
        if (!c.tiedEmbeddings() && !t.containsKey("lm_head.weight")) throw new FormatException(source, "tensor lm_head.weight is missing (embeddings are not tied)");
        return new ModelWeights(embedding, layers, norm, head);
    }

    /**
     * One layer's experts: views into the stacked tensors where the file has them (GGUF), else the per-expert
     * tensors (HF: Mixtral's {@code block_sparse_moe.experts.E.w1/w3/w2}, the others' {@code mlp.experts.E.*_proj}).
     */
    private static Experts experts(ModelConfig c, Lookup in, String p, int layer) {
        MoeConfig moe = c.moe();
        int d = c.hiddenSize(), ff = moe.expertIntermediateSize(), n = moe.experts();
        Matrix router = in.matrix(routerName(c, layer), n, d);
        Matrix[] gate, up, down;
        if (in.tensors().containsKey(p + STACKED_EXPERTS + "gate_proj.weight")) {
            gate = in.stacked(p + STACKED_EXPERTS + "gate_proj.weight", n, ff, d);
            up = in.stacked(p + STACKED_EXPERTS + "up_proj.weight", n, ff, d);
            down = in.stacked(p + STACKED_EXPERTS + "down_proj.weight", n, d, ff);
        } else {
            gate = new Matrix[n];
            up = new Matrix[n];
            down = new Matrix[n];
            for (int e = 0; e < n; e++) {
                gate[e] = in.matrix(expertName(c, layer, e, "gate"), ff, d);
                up[e] = in.matrix(expertName(c, layer, e, "up"), ff, d);
                down[e] = in.matrix(expertName(c, layer, e, "down"), d, ff);
            }
        }
        if (!moe.hasSharedExpert()) return new Experts(moe.expertsPerToken(), router, gate, up, down, null, null, null, null);
        int sff = moe.sharedIntermediateSize();
        TensorEntry sharedRouter = in.entry(p + "mlp.shared_expert_gate.weight");
        if (sharedRouter.elementCount() != d) sharedRouter.expectShape(1, d);
        return new Experts(moe.expertsPerToken(), router, gate, up, down, in.vector(sharedRouter.name(), sharedRouter.shape()),
                in.matrix(p + "mlp.shared_expert.gate_proj.weight", sff, d), in.matrix(p + "mlp.shared_expert.up_proj.weight", sff, d),
                in.matrix(p + "mlp.shared_expert.down_proj.weight", d, sff));
    }

    /**
     * HF name of a layer's expert router: an HF Mixtral's block_sparse_moe.gate, the others' (and every GGUF file's,
     * as {@link GgufCheckpoint} names them) mlp.gate.
     */
    public static String routerName(ModelConfig c, int layer) {
        return "model.layers." + layer + "." + (isMixtral(c) ? "block_sparse_moe." : "mlp.") + "gate.weight";
    }

    /** HF name of one expert's {@code projection} (gate, up or down): Mixtral's w1/w3/w2, the others' *_proj. */
    public static String expertName(ModelConfig c, int layer, int expert, String projection) {
        String name = isMixtral(c) ? Map.of("gate", "w1", "up", "w3", "down", "w2").get(projection) : projection + "_proj";
        return "model.layers." + layer + "." + (isMixtral(c) ? "block_sparse_moe." : "mlp.") + "experts." + expert + "." + name + ".weight";
    }

    private static boolean isMixtral(ModelConfig c) {
        return c.architecture().equals("mixtral");
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

        /** A stacked [count, rows, cols] tensor as {@code count} matrices viewing its bytes (no copies). */
        Matrix[] stacked(String name, int count, int rows, int cols) {
            TensorEntry e = entry(name).expectShape(count, rows, cols);
            Matrix whole = e.asMatrix();
            if (checkFinite) WeightCheck.requireFinite(e, whole);
            long bytes = e.dtype().byteSize((long) rows * cols);
            Matrix[] out = new Matrix[count];
            for (int i = 0; i < count; i++) out[i] = Matrices.of(e.dtype(), e.data().asSlice(i * bytes, bytes), rows, cols);
            return out;
        }

        float[] vector(String name, long... shape) {
            float[] v = entry(name).expectShape(shape).toFloats();
            for (float f : v) if (!Float.isFinite(f)) throw new FormatException(entry(name).file(), "tensor " + name + " contains NaN or infinity");
            if (unitOffsetNorms && name.endsWith("norm.weight")) for (int i = 0; i < v.length; i++) v[i] += 1f;
            return v;
        }
    }
}
