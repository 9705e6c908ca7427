package org.flexidepth4j.tensor;

/**
 * A dtype whose decode reads {@value #ROWS} rows in one pass over x: several weight streams at once, because a
 * single-stream dot does not keep the memory busy on every machine. The decode loops ({@link Matrix#matmulRows},
 * {@link ColumnPanels}) call it for whole blocks of rows and {@link Matrix#dot} for the rest. Only BF16 implements
 * it (docs/KERNELS.md says why not Q4_0).
 */
interface RowBlockDot {
    int ROWS = 4;

    /**
     * out[outOffset + i] = dot(row + i, x, xOffset) for i in [0, {@value #ROWS}), added to out when {@code add};
     * each row summed in {@link Matrix#dot}'s order, so in compiled code no result depends on a thread's row range
     * (the Vector API's interpreted fallback reduces lanes in another order, so a cold call may differ in the last bit).
     */
    void dotRows(int row, float[] x, int xOffset, float[] out, int outOffset, boolean add);

    /** out[index] = value, or += value when {@code add}: how {@link #dotRows} stores each row's sum. */
    static void store(float[] out, int index, boolean add, float value) {
        out[index] = add ? out[index] + value : value;
    }
}
