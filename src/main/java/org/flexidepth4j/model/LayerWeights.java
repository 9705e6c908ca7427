package org.flexidepth4j.model;

import java.util.List;
import org.flexidepth4j.tensor.Matrix;

/**
 * Weights of one decoder layer, HF orientation ([out, in] matrices). Biases, q/k norms and the sandwich norms
 * ({@code postNorms}, set through {@link #withPostNorms}) are null when the architecture has none; a
 * mixture-of-experts layer has {@code experts} (set through {@link #withExperts}) and null dense FFN matrices.
 */
public record LayerWeights(float[] attnNorm, Matrix wq, Matrix wk, Matrix wv, Matrix wo,
                           float[] bq, float[] bk, float[] bv, float[] qNorm, float[] kNorm,
                           float[] ffnNorm, Matrix wGate, Matrix wUp, Matrix wDown, PostNorms postNorms, Experts experts) {

    /** Gemma's sandwich norms: RMSNorm weights applied to the attention output and the FFN output before each residual add. */
    public record PostNorms(float[] attention, float[] feedForward) {
    }

    /** A layer with a dense FFN and no sandwich norms. */
    public LayerWeights(float[] attnNorm, Matrix wq, Matrix wk, Matrix wv, Matrix wo, float[] bq, float[] bk, float[] bv, float[] qNorm,
                        float[] kNorm, float[] ffnNorm, Matrix wGate, Matrix wUp, Matrix wDown) {
        this(attnNorm, wq, wk, wv, wo, bq, bk, bv, qNorm, kNorm, ffnNorm, wGate, wUp, wDown, null, null);
    }

    public LayerWeights withPostNorms(PostNorms norms) {
        return new LayerWeights(attnNorm, wq, wk, wv, wo, bq, bk, bv, qNorm, kNorm, ffnNorm, wGate, wUp, wDown, norms, experts);
    }

    /** The same layer with the mixture-of-experts FFN {@code v}. */
    public LayerWeights withExperts(Experts v) {
        return new LayerWeights(attnNorm, wq, wk, wv, wo, bq, bk, bv, qNorm, kNorm, ffnNorm, wGate, wUp, wDown, postNorms, v);
    }

    /** The matrices of its FFN: the dense three, or every expert's. */
    public List<Matrix> feedForwardMatrices() {
        return experts == null ? List.of(wGate, wUp, wDown) : experts.matrices();
    }
}
