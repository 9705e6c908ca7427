package org.flexidepth4j.skip;

import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Matrix;
import org.flexidepth4j.tensor.VectorOps;

/**
 * FlexiDepth's per-layer router (no biases): g = sigmoid(head(dec(tanh(RMSNorm(enc(x)))))) where x is the layer's
 * input_layernorm output. enc is [d/r, d], norm [d/r], dec [d, d/r], head [1, d]; weights stay in their stored dtype.
 */
public record FlexiDepthRouter(Matrix enc, float[] norm, Matrix dec, Matrix head) {
    public FlexiDepthRouter {
        int d = enc.cols(), r = enc.rows();
        if (norm.length != r || dec.rows() != d || dec.cols() != r || head.rows() != 1 || head.cols() != d) {
            throw new IllegalArgumentException("router shapes do not fit together: enc [" + r + ", " + d + "], norm [" + norm.length
                    + "], dec [" + dec.rows() + ", " + dec.cols() + "], head [" + head.rows() + ", " + head.cols() + "]");
        }
    }

    public int reducedSize() {
        return enc.rows();
    }

    /** Multiply-adds per routed token (the three projections). */
    public long multiplyAddsPerToken() {
        return (long) enc.rows() * enc.cols() + (long) dec.rows() * dec.cols() + head.cols();
    }

    /** Bytes of weights one routing step reads. */
    public long byteSize() {
        return enc.byteSize() + dec.byteSize() + head.byteSize() + (long) norm.length * Float.BYTES;
    }

    /** The same router with its projections stored in {@code dtype}. */
    public FlexiDepthRouter storedAs(DType dtype) {
        return new FlexiDepthRouter(FlexiDepth.stored(enc, dtype), norm, FlexiDepth.stored(dec, dtype), FlexiDepth.stored(head, dtype));
    }

    /**
     * Gates of {@code n} rows of x [n, d] into gates[0 .. n). {@code reduced} must hold n * d/r floats and
     * {@code wide} n * d; eps is the model's rms_norm_eps.
     */
    public void gates(float[] x, int n, float eps, float[] reduced, float[] wide, float[] gates) {
        int r = reducedSize();
        enc.matmul(x, reduced, n);
        for (int t = 0; t < n; t++) {
            VectorOps.rmsNorm(reduced, t * r, norm, eps, reduced, t * r, r);
            for (int i = t * r; i < (t + 1) * r; i++) reduced[i] = (float) Math.tanh(reduced[i]);
        }
        dec.matmul(reduced, wide, n);
        head.matmul(wide, gates, n);
        for (int t = 0; t < n; t++) gates[t] = (float) (1.0 / (1.0 + Math.exp(-gates[t])));
    }
}
