package org.flexidepth4j.model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Matrix;

/** All weights of a decoder, named and shaped as in HF checkpoints; other formats map their names onto these. */
public record ModelWeights(Matrix embedding, LayerWeights[] layers, float[] finalNorm, Matrix lmHead) {

    /** Looks up tensors by HF name, checking every shape against the config. */
    public static ModelWeights fromTensors(ModelConfig c, Map<String, TensorEntry> t, Path source) {
        Lookup in = new Lookup(t, source);
        int d = c.hiddenSize(), qd = c.queryDim(), kvd = c.kvDim(), ff = c.intermediateSize(), hd = c.headDim();
        Matrix embedding = in.matrix("model.embed_tokens.weight", c.vocabSize(), d);
        LayerWeights[] layers = new LayerWeights[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i + ".";
            layers[i] = new LayerWeights(
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
                    in.vector(p + "post_attention_layernorm.weight", d),
                    in.matrix(p + "mlp.gate_proj.weight", ff, d),
                    in.matrix(p + "mlp.up_proj.weight", ff, d),
                    in.matrix(p + "mlp.down_proj.weight", d, ff));
        }
        float[] norm = in.vector("model.norm.weight", d);
        Matrix head = c.tiedEmbeddings() || !t.containsKey("lm_head.weight") ? embedding : in.matrix("lm_head.weight", c.vocabSize(), d);
        if (!c.tiedEmbeddings() && !t.containsKey("lm_head.weight")) throw new FormatException(source, "tensor lm_head.weight is missing (embeddings are not tied)");
        return new ModelWeights(embedding, layers, norm, head);
    }

    /** The matrices a decoded token reads whole: the LM head and every layer's projections (not the embedding). */
    private List<Matrix> readPerToken() {
        List<Matrix> matrices = new ArrayList<>(1 + 7 * layers.length);
        matrices.add(lmHead);
        for (LayerWeights l : layers) matrices.addAll(List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.wGate(), l.wUp(), l.wDown()));
        return matrices;
    }

    /** Total bytes of the weights read once per decoded token (embedding row excluded). */
    public long bytesPerToken() {
        long sum = 0;
        for (Matrix m : readPerToken()) sum += m.byteSize();
        return sum;
    }

    /**
     * The dtypes of the weights read per token, the largest share of bytes first, joined by "+": "BF16" for most
     * models, "Q4_K+Q6_K" for a llama.cpp Q4_K_M file.
     */
    public String dtypeMix() {
        Map<DType, Long> bytes = new EnumMap<>(DType.class);
        for (Matrix m : readPerToken()) bytes.merge(m.dtype(), m.byteSize(), Long::sum);
        return bytes.entrySet().stream().sorted(Map.Entry.<DType, Long>comparingByValue().reversed())
                .map(e -> e.getKey().name()).collect(Collectors.joining("+"));
    }

    private record Lookup(Map<String, TensorEntry> tensors, Path source) {
        TensorEntry entry(String name) {
            TensorEntry e = tensors.get(name);
            if (e == null) throw new FormatException(source, "tensor " + name + " is missing");
            return e;
        }

        Matrix matrix(String name, int rows, int cols) {
            TensorEntry e = entry(name).expectShape(rows, cols);
            return e.asMatrix();
        }

        float[] vector(String name, int n) {
            float[] v = entry(name).expectShape(n).toFloats();
            for (float f : v) if (!Float.isFinite(f)) throw new FormatException(e(name), "tensor " + name + " contains NaN or infinity");
            return v;
        }

        private Path e(String name) {
            return entry(name).file();
        }
    }
}
