package org.flexidepth4j.tensor;

/**
 * Rotary position embedding, for inference and training alike: each pair (a, b) of each head is rotated by its
 * position's angle. Interleaved pairs are (2i, 2i+1) (llama2.c and GGUF weights, whose converters permute Q/K rows),
 * otherwise (i, i + headDim/2) (rotate-half, HF checkpoints). The backward is the inverse rotation.
 */
public final class Rope {
    private final int headDim;
    /** Rotated pairs per head (the leading {@code 2 * pairs} dimensions rotate, the rest pass through). */
    private final int pairs;
    private final int positions;
    private final boolean interleaved;
    private final float[] cos;
    private final float[] sin;

    /** Cos/sin tables for positions 0 .. positions-1 and each rotated pair, both multiplied by {@code scale}. */
    public Rope(double[] inverseFrequencies, int headDim, boolean interleaved, int positions, double scale) {
        this(inverseFrequencies, headDim, headDim, interleaved, positions, scale);
    }

    /**
     * Tables for a partial rotation: only the leading {@code rotatedDims} of each head rotate; rotate-half pairs are
     * then (i, i + rotatedDims/2), as HF's partial_rotary_factor (Phi-4-mini) and llama.cpp's NEOX rope pair them.
     */
    public Rope(double[] inverseFrequencies, int headDim, int rotatedDims, boolean interleaved, int positions, double scale) {
        int half = headDim / 2;
        this.headDim = headDim;
        this.pairs = rotatedDims / 2;
        this.positions = positions;
        this.interleaved = interleaved;
        cos = new float[positions * half];
        sin = new float[positions * half];
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * inverseFrequencies[i];
                cos[p * half + i] = (float) (scale * Math.cos(angle));
                sin[p * half + i] = (float) (scale * Math.sin(angle));
            }
        }
    }

    /** Positions the tables cover. */
    public int positions() {
        return positions;
    }

    /** Rotates each of {@code heads} heads of x[off ..] for position {@code pos}; {@code inverse} rotates back. */
    public void rotate(float[] x, int off, int heads, int pos, boolean inverse) {
        int half = headDim / 2, base = pos * half;
        for (int h = 0; h < heads; h++) {
            int o = off + h * headDim;
            for (int i = 0; i < pairs; i++) {
                float c = cos[base + i], sn = inverse ? -sin[base + i] : sin[base + i];
                int a = interleaved ? o + 2 * i : o + i;
                int b = interleaved ? a + 1 : a + pairs;
                float x0 = x[a], x1 = x[b];
                x[a] = x0 * c - x1 * sn;
                x[b] = x1 * c + x0 * sn;
            }
        }
    }

    /** Rotates x [T, heads * headDim] in place, row t at position t. */
    public void rotateRows(float[] x, int T, int heads, boolean inverse) {
        for (int t = 0; t < T; t++) rotate(x, t * heads * headDim, heads, t, inverse);
    }
}
