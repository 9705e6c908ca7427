package org.flexidepth4j.tensor;

import static org.flexidepth4j.tensor.QuantLanes.F;
import static org.flexidepth4j.tensor.QuantLanes.L;
import static org.flexidepth4j.tensor.QuantLanes.floats;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * GGML Q8_0: each row is blocks of 32 values stored as an fp16 scale d and 32 int8 quants, value = q * d. The dot
 * widens the quants to float and FMAs them with x (measured faster here than quantizing x to int8: the Vector API
 * has no int8 multiply-add instruction, so the integer path needs more widening steps).
 */
public final class Q8_0Matrix extends BlockMatrix {
    static final int BLOCK = 32;
    static final int BLOCK_BYTES = 34;
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(DType.Q8_0, data, rows, cols);
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = row * rowBytes();
        // Two accumulators over alternate blocks: the loop-carried FMA latency is shared by two blocks.
        // The same loop as Q4_0Matrix.dot on purpose: shared through an abstract per-block step it measured
        // 20-40% slower (the Vector API chain no longer inlined into one loop).
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int b = 0;
        for (; b + 1 < blocksPerRow; b += 2) {
            acc0 = block(base, b, x, xOffset, acc0);
            acc1 = block(base, b + 1, x, xOffset, acc1);
        }
        if (b < blocksPerRow) acc0 = block(base, b, x, xOffset, acc0);
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /** acc + d * (quants of block b . x). */
    private FloatVector block(long base, int b, float[] x, int xOffset, FloatVector acc) {
        long q = base + (long) b * BLOCK_BYTES + 2;
        int xi = xOffset + b * BLOCK;
        FloatVector p = floats(data, q).mul(FloatVector.fromArray(F, x, xi));
        for (int i = L; i < BLOCK; i += L) p = floats(data, q + i).fma(FloatVector.fromArray(F, x, xi + i), p);
        return p.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(LE_SHORT, q - 2))), acc);
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        long base = row * rowBytes();
        for (int b = 0; b < blocksPerRow; b++) {
            long q = base + (long) b * BLOCK_BYTES + 2;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(data.get(LE_SHORT, q - 2)));
            int o = dstOffset + b * BLOCK;
            for (int i = 0; i < BLOCK; i += L) floats(data, q + i).mul(d).intoArray(dst, o + i);
        }
    }
}
