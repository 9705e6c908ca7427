package org.flexidepth4j.model;

import org.flexidepth4j.tensor.Matrix;

/**
 * Counts the work a forward pass actually executed, per layer: multiply-adds, and bytes read from weights and the
 * KV cache. Tests and benchmarks use it to prove that skipped work was not done and to report measured FLOPs and
 * bytes per token. Bytes count each weight matrix once per matmul call at its stored size (what a decode step
 * streams from memory) and the cached keys and values each attending row reads.
 */
public final class WorkCounter {
    private final long[] macs;
    private final long[] bytes;
    /** (token, expert) pairs a mixture-of-experts layer executed: experts not chosen for a token are not counted. */
    private final long[] expertRuns;

    public WorkCounter(int layers) {
        macs = new long[layers + 1];
        bytes = new long[layers + 1];
        expertRuns = new long[layers + 1];
    }

    /** {@code tokens} tokens ran one expert of {@code layer}. */
    public void addExpertRuns(int layer, long tokens) {
        expertRuns[layer] += tokens;
    }

    /** (token, expert) pairs executed in one layer. */
    public long expertRuns(int layer) {
        return expertRuns[layer];
    }

    /** Slot {@code layers} holds the LM head. */
    public void add(int layer, long multiplyAdds, long bytesRead) {
        macs[layer] += multiplyAdds;
        bytes[layer] += bytesRead;
    }

    /** One matmul of {@code tokens} rows through {@code w}: every weight is read once and used by every row. */
    public void matmul(int layer, Matrix w, int tokens) {
        add(layer, (long) tokens * w.rows() * w.cols(), w.byteSize());
    }

    /** Multiply-adds of one layer. */
    public long layer(int layer) {
        return macs[layer];
    }

    /** Bytes read by one layer. */
    public long layerBytes(int layer) {
        return bytes[layer];
    }

    public long total() {
        long s = 0;
        for (long m : macs) s += m;
        return s;
    }

    public long totalBytes() {
        long s = 0;
        for (long b : bytes) s += b;
        return s;
    }

    public void reset() {
        java.util.Arrays.fill(macs, 0);
        java.util.Arrays.fill(bytes, 0);
        java.util.Arrays.fill(expertRuns, 0);
    }
}
