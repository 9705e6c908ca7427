package org.flexidepth4j.model;

import java.util.List;
import org.flexidepth4j.tensor.Matrix;

/**
 * Weights of one decoder layer, HF orientation ([out, in] matrices). Biases and q/k norms are null when the
 * architecture has none; a mixture-of-experts layer has {@code experts} and null dense FFN matrices.
 */
public record LayerWeights(float[] attnNorm, Matrix wq, Matrix wk, Matrix wv, Matrix wo,
                           float[] bq, float[] bk, float[] bv, float[] qNorm, float[] kNorm,
                           float[] ffnNorm, Matrix wGate, Matrix wUp, Matrix wDown, Experts experts) {
    /** A layer with a dense FFN. */
    public LayerWeights(float[] attnNorm, Matrix wq, Matrix wk, Matrix wv, Matrix wo,
                        float[] bq, float[] bk, float[] bv, float[] qNorm, float[] kNorm,
                        float[] ffnNorm, Matrix wGate, Matrix wUp, Matrix wDown) {
        this(attnNorm, wq, wk, wv, wo, bq, bk, bv, qNorm, kNorm, ffnNorm, wGate, wUp, wDown, null);
    }

    /** The same layer with the mixture-of-experts FFN {@code v}. */
    public LayerWeights withExperts(Experts v) {
        return new LayerWeights(attnNorm, wq, wk, wv, wo, bq, bk, bv, qNorm, kNorm, ffnNorm, wGate, wUp, wDown, v);
    }

    /** The matrices of its FFN: the dense three, or every expert's. */
    public List<Matrix> feedForwardMatrices() {
        return experts == null ? List.of(wGate, wUp, wDown) : experts.matrices();
    }
}
