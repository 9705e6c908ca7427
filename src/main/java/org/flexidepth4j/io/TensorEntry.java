package org.flexidepth4j.io;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.flexidepth4j.tensor.BF16Matrix;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Matrices;
import org.flexidepth4j.tensor.Matrix;

/** One tensor of a weight file: its name, dtype, shape (outermost first) and a view of its bytes. */
public record TensorEntry(String name, DType dtype, long[] shape, MemorySegment data, Path file) {
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public long elementCount() {
        long n = 1;
        for (long s : shape) n = Math.multiplyExact(n, s);
        return n;
    }

    /** This tensor as a [rows, cols] matrix in its stored dtype; a 1-D tensor is one row. */
    public Matrix asMatrix() {
        int cols = (int) shape[shape.length - 1];
        int rows = (int) (elementCount() / Math.max(1, cols));
        if (!Matrices.supports(dtype)) {
            throw new FormatException(file, "tensor " + name + " has dtype " + dtype + ", which cannot be used as a weight matrix");
        }
        return Matrices.of(dtype, data, rows, cols);
    }

    /**
     * Rows [from, from + count) of this 2-D tensor as a tensor of its own named {@code name}: a view of the same bytes
     * (fused projections split at load without a copy).
     */
    public TensorEntry rows(String name, long from, long count) {
        if (shape.length != 2 || from < 0 || count <= 0 || from + count > shape[0]) {
            throw new FormatException(file, "tensor " + this.name + " of shape " + Arrays.toString(shape) + " has no rows " + from + ".." + (from + count - 1));
        }
        long rowBytes = data.byteSize() / shape[0];
        return new TensorEntry(name, dtype, new long[] {count, shape[1]}, data.asSlice(from * rowBytes, count * rowBytes), file);
    }

    /** Checks the shape against what the model expects. */
    public TensorEntry expectShape(long... expected) {
        if (!Arrays.equals(shape, expected)) {
            throw new FormatException(file, "tensor " + name + " has shape " + Arrays.toString(shape) + ", expected " + Arrays.toString(expected));
        }
        return this;
    }

    /** All values converted to float32 (for small tensors: norms, biases, references). */
    public float[] toFloats() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) throw new FormatException(file, "tensor " + name + " is too large to copy");
        float[] out = new float[(int) n];
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, LE_FLOAT, 0, out, 0, out.length);
            case BF16 -> { for (int i = 0; i < out.length; i++) out[i] = BF16Matrix.toFloat(data.get(LE_SHORT, 2L * i)); }
            case F16 -> { for (int i = 0; i < out.length; i++) out[i] = Float.float16ToFloat(data.get(LE_SHORT, 2L * i)); }
            case F64 -> { for (int i = 0; i < out.length; i++) out[i] = (float) Double.longBitsToDouble(data.get(LE_LONG, 8L * i)); }
            case I32 -> { for (int i = 0; i < out.length; i++) out[i] = data.get(LE_INT, 4L * i); }
            case I64 -> { for (int i = 0; i < out.length; i++) out[i] = data.get(LE_LONG, 8L * i); }
            default -> {
                int cols = (int) shape[shape.length - 1];
                Matrix m = asMatrix();
                for (int r = 0; r < n / cols; r++) m.readRow(r, out, r * cols);
            }
        }
        return out;
    }

    /** Integer tensor values (I32 or I64). */
    public int[] toInts() {
        int n = Math.toIntExact(elementCount());
        int[] out = new int[n];
        switch (dtype) {
            case I32 -> MemorySegment.copy(data, LE_INT, 0, out, 0, n);
            case I64 -> { for (int i = 0; i < n; i++) out[i] = Math.toIntExact(data.get(LE_LONG, 8L * i)); }
            default -> throw new FormatException(file, "tensor " + name + " has dtype " + dtype + ", expected an integer type");
        }
        return out;
    }
}
