package org.flexidepth4j.model;

import org.flexidepth4j.tensor.Matrix;

/**
 * Weights of one decoder layer, HF orientation ([out, in] matrices). Biases and q/k norms are null when the
 * architecture has none.
 */
public record LayerWeights(float[] attnNorm, Matrix wq, Matrix wk, Matrix wv, Matrix wo,
                           float[] bq, float[] bk, float[] bv, float[] qNorm, float[] kNorm,
                           float[] ffnNorm, Matrix wGate, Matrix wUp, Matrix wDown) {
}
