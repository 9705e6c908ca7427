package org.flexidepth4j.model;

import org.flexidepth4j.tensor.Matrix;

/**
 * Weights of one decoder layer, HF orientation ([out, in] matrices). Biases, q/k norms and the sandwich norms
 * ({@code postNorms}, set through {@link #withPostNorms}) are null when the architecture has none.
 */
public record LayerWeights(float[] attnNorm, Matrix wq, Matrix wk, Matrix wv, Matrix wo,
                           float[] bq, float[] bk, float[] bv, float[] qNorm, float[] kNorm,
                           float[] ffnNorm, Matrix wGate, Matrix wUp, Matrix wDown, PostNorms postNorms) {

    /** Gemma's sandwich norms: RMSNorm weights applied to the attention output and the FFN output before each residual add. */
    public record PostNorms(float[] attention, float[] feedForward) {
    }

    public LayerWeights(float[] attnNorm, Matrix wq, Matrix wk, Matrix wv, Matrix wo, float[] bq, float[] bk, float[] bv, float[] qNorm,
                        float[] kNorm, float[] ffnNorm, Matrix wGate, Matrix wUp, Matrix wDown) {
        this(attnNorm, wq, wk, wv, wo, bq, bk, bv, qNorm, kNorm, ffnNorm, wGate, wUp, wDown, null);
    }

    public LayerWeights withPostNorms(PostNorms norms) {
        return new LayerWeights(attnNorm, wq, wk, wv, wo, bq, bk, bv, qNorm, kNorm, ffnNorm, wGate, wUp, wDown, norms);
    }
}
