package org.flexidepth4j.train;

import org.flexidepth4j.tensor.F32Matrix;
import org.flexidepth4j.tensor.Matrix;

/**
 * One weight tensor as training sees it: trainable (float32 values the optimizer updates in place, plus a gradient)
 * or frozen (the stored matrix of any dtype, or a norm vector; no gradient, no memory for one). Matrix kernels serve
 * both: a trainable tensor's {@link #matrix} is an F32 view over {@link #value}.
 *
 * @param decay whether AdamW's weight decay applies (not to norm weights)
 */
public record Param(String name, int rows, int cols, Matrix matrix, float[] value, float[] grad, boolean decay) {

    public static Param frozen(String name, Matrix m) {
        return new Param(name, m.rows(), m.cols(), m, null, null, false);
    }

    public static Param frozenVector(String name, float[] v) {
        return new Param(name, 1, v.length, F32Matrix.of(v, 1, v.length), v, null, false);
    }

    /** A trainable tensor over {@code values} (shared, not copied). */
    public static Param trainable(String name, float[] values, int rows, int cols, boolean decay) {
        return new Param(name, rows, cols, F32Matrix.of(values, rows, cols), values, new float[values.length], decay);
    }

    /** A trainable float32 copy of a stored matrix (full-weight training). */
    public static Param trainableCopy(String name, Matrix m, boolean decay) {
        float[] v = new float[m.rows() * m.cols()];
        for (int r = 0; r < m.rows(); r++) m.readRow(r, v, r * m.cols());
        return trainable(name, v, m.rows(), m.cols(), decay);
    }

    public boolean trainable() {
        return grad != null;
    }

    public int size() {
        return rows * cols;
    }

    /** The values as a vector (norm weights): trainable or frozen vectors carry them. */
    public float[] vector() {
        if (value == null) throw new IllegalStateException(name + " is a frozen matrix, not a vector");
        return value;
    }
}
