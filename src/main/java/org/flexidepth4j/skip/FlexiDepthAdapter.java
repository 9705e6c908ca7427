package org.flexidepth4j.skip;

import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Matrix;
import org.flexidepth4j.tensor.VectorOps;

/**
 * The cheap FFN a skipped token gets: Adapter(y) = up(silu(gate(y)) * down(y)), a SwiGLU of intermediate size I/r.
 * Named as in the released checkpoint, where gate_proj and down_proj are the two INPUT projections [I/r, d] and
 * up_proj the OUTPUT projection [d, I/r] (the reverse of the base MLP's up/down roles).
 */
public record FlexiDepthAdapter(Matrix gateProj, Matrix downProj, Matrix upProj) {
    public FlexiDepthAdapter {
        int d = gateProj.cols(), m = gateProj.rows();
        if (downProj.rows() != m || downProj.cols() != d || upProj.rows() != d || upProj.cols() != m) {
            throw new IllegalArgumentException("adapter shapes do not fit together: gate_proj [" + m + ", " + d + "], down_proj ["
                    + downProj.rows() + ", " + downProj.cols() + "], up_proj [" + upProj.rows() + ", " + upProj.cols() + "]");
        }
    }

    public int intermediateSize() {
        return gateProj.rows();
    }

    public long multiplyAddsPerToken() {
        return 3L * gateProj.rows() * gateProj.cols();
    }

    /** Bytes of weights one adapter step reads. */
    public long byteSize() {
        return gateProj.byteSize() + downProj.byteSize() + upProj.byteSize();
    }

    /** The same adapter with its projections stored in {@code dtype}. */
    public FlexiDepthAdapter storedAs(DType dtype) {
        return new FlexiDepthAdapter(FlexiDepth.stored(gateProj, dtype), FlexiDepth.stored(downProj, dtype), FlexiDepth.stored(upProj, dtype));
    }

    /** out[n, d] = Adapter(y[n, d]); a and b each hold n * I/r floats of scratch. */
    public void forward(float[] y, int n, float[] a, float[] b, float[] out) {
        gateProj.matmul(y, a, n);
        downProj.matmul(y, b, n);
        VectorOps.siluMul(a, 0, b, 0, n * intermediateSize());
        upProj.matmul(a, out, n);
    }
}
