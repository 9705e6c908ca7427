package org.flexidepth4j.train;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.flexidepth4j.model.LayerWeights;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.tensor.Matrix;

/**
 * The base model's tensors as training sees them, in HF naming: each trainable (a float32 copy) or frozen (the
 * stored matrix) as the predicate says of its name. A tied lm_head is the embedding itself.
 */
record BaseParams(Param embedding, Param finalNorm, Param lmHead, BaseParams.Layer[] layers) {
    /** One layer's tensors; biases, q/k norms and Gemma's post norms are null where the architecture has none. */
    record Layer(Param attnNorm, Param wq, Param wk, Param wv, Param wo, Param bq, Param bk, Param bv,
                 Param qNorm, Param kNorm, Param ffnNorm, Param wGate, Param wUp, Param wDown, Param postAttnNorm, Param postFfnNorm) {
        List<Param> params() {
            List<Param> out = new ArrayList<>();
            for (Param p : new Param[] {attnNorm, wq, wk, wv, wo, bq, bk, bv, qNorm, kNorm, ffnNorm, wGate, wUp, wDown, postAttnNorm, postFfnNorm}) {
                if (p != null) out.add(p);
            }
            return out;
        }
    }

    static BaseParams of(ModelWeights w, Predicate<String> trainable) {
        Param embedding = matrix("model.embed_tokens.weight", w.embedding(), trainable);
        Param finalNorm = vector("model.norm.weight", w.finalNorm(), trainable);
        Param lmHead = w.lmHead() == w.embedding() ? embedding : matrix("lm_head.weight", w.lmHead(), trainable);
        Layer[] layers = new Layer[w.layers().length];
        for (int l = 0; l < layers.length; l++) {
            LayerWeights lw = w.layers()[l];
            String p = "model.layers." + l + ".";
            LayerWeights.PostNorms post = lw.postNorms();
            layers[l] = new Layer(vector(p + "input_layernorm.weight", lw.attnNorm(), trainable),
                    matrix(p + "self_attn.q_proj.weight", lw.wq(), trainable), matrix(p + "self_attn.k_proj.weight", lw.wk(), trainable),
                    matrix(p + "self_attn.v_proj.weight", lw.wv(), trainable), matrix(p + "self_attn.o_proj.weight", lw.wo(), trainable),
                    vector(p + "self_attn.q_proj.bias", lw.bq(), trainable), vector(p + "self_attn.k_proj.bias", lw.bk(), trainable),
                    vector(p + "self_attn.v_proj.bias", lw.bv(), trainable),
                    vector(p + "self_attn.q_norm.weight", lw.qNorm(), trainable), vector(p + "self_attn.k_norm.weight", lw.kNorm(), trainable),
                    vector(p + (post != null ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"), lw.ffnNorm(), trainable),
                    matrix(p + "mlp.gate_proj.weight", lw.wGate(), trainable), matrix(p + "mlp.up_proj.weight", lw.wUp(), trainable),
                    matrix(p + "mlp.down_proj.weight", lw.wDown(), trainable),
                    post == null ? null : vector(p + "post_attention_layernorm.weight", post.attention(), trainable),
                    post == null ? null : vector(p + "post_feedforward_layernorm.weight", post.feedForward(), trainable));
        }
        return new BaseParams(embedding, finalNorm, lmHead, layers);
    }

    private static Param matrix(String name, Matrix m, Predicate<String> trainable) {
        if (m == null) return null; // a mixture-of-experts layer has no dense FFN
        return trainable.test(name) ? Param.trainableCopy(name, m, true) : Param.frozen(name, m);
    }

    private static Param vector(String name, float[] v, Predicate<String> trainable) {
        if (v == null) return null;
        boolean decay = !name.contains("norm");
        return trainable.test(name) ? Param.trainable(name, v.clone(), 1, v.length, decay) : Param.frozenVector(name, v);
    }
}
