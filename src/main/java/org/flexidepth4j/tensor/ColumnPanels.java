package org.flexidepth4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A wide matrix re-laid out as column panels of {@value #PANEL_COLS} columns, each a contiguous row-major matrix of
 * the same dtype, so that one token's product streams each panel once, front to back. Why: a decode dot keeps its
 * input in L1 while the rows stream past, and an 8192-column input (32 KiB) is evicted by them; a panel's slice is
 * 8 KiB and stays (docs/KERNELS.md).
 */
public final class ColumnPanels extends Matrix {
    /** Columns per panel: 8 KiB of float input, a quarter of a 32 KiB L1. A multiple of every block size. */
    static final int PANEL_COLS = 2048;
    /** Matrices up to this wide stay as they are (their input fits L1 beside the stream). */
    static final int MAX_PLAIN_COLS = 4096;

    private final Matrix[] panels;

    private ColumnPanels(Matrix[] panels, int rows, int cols) {
        super(rows, cols);
        this.panels = panels;
    }

    /**
     * {@code m} itself when it is at most {@value #MAX_PLAIN_COLS} columns wide, else a copy in column panels (the
     * same values and dtype, {@code m}'s storage no longer read).
     */
    public static Matrix of(Matrix m) {
        if (!splits(m.cols()) || m instanceof ColumnPanels) return m;
        DType dtype = m.dtype();
        long rowBytes = dtype.byteSize(m.cols());
        Matrix[] panels = new Matrix[(m.cols() + PANEL_COLS - 1) / PANEL_COLS];
        MemorySegment source = m.segment();
        for (int p = 0; p < panels.length; p++) {
            int cols = Math.min(PANEL_COLS, m.cols() - p * PANEL_COLS);
            long offset = dtype.byteSize((long) p * PANEL_COLS), bytes = dtype.byteSize(cols);
            MemorySegment panel = Arena.ofAuto().allocate(bytes * m.rows(), 64);
            for (int r = 0; r < m.rows(); r++) MemorySegment.copy(source, r * rowBytes + offset, panel, r * bytes, bytes);
            panels[p] = Matrices.of(dtype, panel, m.rows(), cols);
        }
        return new ColumnPanels(panels, m.rows(), m.cols());
    }

    /** Whether {@link #of} lays out a matrix of this many columns in panels. */
    public static boolean splits(int cols) {
        return cols > MAX_PLAIN_COLS;
    }

    @Override
    public DType dtype() {
        return panels[0].dtype();
    }

    /** The storage is one segment per panel: there is no single row-major segment to hand out. */
    @Override
    public MemorySegment segment() {
        throw new UnsupportedOperationException("a matrix stored in column panels has no single row-major segment");
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        float sum = 0;
        for (int p = 0; p < panels.length; p++) sum += panels[p].dot(row, x, xOffset + p * PANEL_COLS);
        return sum;
    }

    @Override
    public void readRow(int row, float[] dst, int dstOffset) {
        for (int p = 0; p < panels.length; p++) panels[p].readRow(row, dst, dstOffset + p * PANEL_COLS);
    }

    /**
     * A native kernel (BF16 on the native tier): panel by panel, any token count. Else few tokens: panel by panel, each
     * panel's rows [rowStart, rowEnd) in storage order; many: the packed Gemm path.
     */
    @Override
    protected void matmulRows(float[] x, int xOffset, int xStride, float[] out, int outOffset, int outStride,
                              int tokens, int rowStart, int rowEnd) {
        if (panels[0].nativeMatmulRows(x, xOffset, xStride, out, outOffset, outStride, tokens, rowStart, rowEnd, false)) {
            for (int p = 1; p < panels.length; p++) {
                panels[p].nativeMatmulRows(x, xOffset + p * PANEL_COLS, xStride, out, outOffset, outStride, tokens, rowStart, rowEnd, true);
            }
            return;
        }
        if (tokens >= GEMM_MIN_TOKENS) {
            super.matmulRows(x, xOffset, xStride, out, outOffset, outStride, tokens, rowStart, rowEnd);
            return;
        }
        for (int p = 0; p < panels.length; p++) {
            Matrix panel = panels[p];
            int panelOffset = xOffset + p * PANEL_COLS;
            if (tokens > 1 && panel instanceof TokenBlockDot block) {
                TokenBlockDot.rows(panel, block, x, panelOffset, xStride, tokens, out, outOffset, outStride, rowStart, rowEnd, p > 0);
                continue;
            }
            int r = rowStart;
            if (panel instanceof RowBlockDot block) {
                for (; r + RowBlockDot.ROWS <= rowEnd; r += RowBlockDot.ROWS) {
                    for (int t = 0; t < tokens; t++) block.dotRows(r, x, panelOffset + t * xStride, out, outOffset + t * outStride + r, p > 0);
                }
            }
            for (; r < rowEnd; r++) {
                for (int t = 0; t < tokens; t++) {
                    int o = outOffset + t * outStride + r;
                    float partial = panel.dot(r, x, panelOffset + t * xStride);
                    out[o] = p == 0 ? partial : out[o] + partial;
                }
            }
        }
    }

    @Override
    public void prepareKernels() {
        for (Matrix panel : panels) panel.prepareKernels();
    }

    @Override
    boolean takesInt8Activations() {
        return panels[0].takesInt8Activations();
    }

    /** Panel by panel, as the float decode path: each panel's columns are whole blocks of the activations. */
    @Override
    void int8Rows(Q8Activations x, int firstBlock, int tokens, int rowStart, int rowEnd, float[] out, int outOffset, int outStride, boolean add) {
        for (int p = 0; p < panels.length; p++) {
            panels[p].int8Rows(x, firstBlock + p * (PANEL_COLS / Q8Activations.BLOCK), tokens, rowStart, rowEnd, out, outOffset, outStride, add || p > 0);
        }
    }

    @Override
    public Matrix rowSlice(int first, int n) {
        Matrix[] sliced = new Matrix[panels.length];
        for (int p = 0; p < panels.length; p++) sliced[p] = panels[p].rowSlice(first, n);
        return new ColumnPanels(sliced, n, cols);
    }
}
