package org.flexidepth4j.model;

import java.util.Arrays;

/**
 * What one sequence carries between forward calls: the KV cache and its length, scratch buffers sized to the largest
 * batch of rows seen so far (nothing is allocated in a steady decode loop), logits, and the trace of the last call.
 */
public final class InferenceState {
    final ModelConfig config;
    final int contextLength;
    final float[][] keyCache;
    final float[][] valueCache;
    int length;

    int capacity;
    float[] residual, normed, query, key, value, attention, projected, ffnGate, ffnUp, gathered, gathered2;
    boolean[] run, ranAttention;
    float[] gate, skipGate;
    int[] positions, runRows, skipRows;
    /** Mixture of experts: router logits [rows, experts], each row's chosen experts and weights [rows, per token],
     * one expert's rows (indices into the run rows) and weights, and the softmax of one row; null for a dense model. */
    float[] routerLogits, chosenWeights, expertWeights, expertProbs;
    int[] chosenExperts, expertRows;
    /** For a batch of sequences ({@link Transformer#decode}): the sequence whose KV cache row t belongs to; else null. */
    InferenceState[] rowOwners;
    /** Keys of one layer transposed per KV head for the block attention; grown to the longest prefix seen. */
    float[] keysTransposed;

    /** Logits of the last call: [rows, vocab] where rows is 1 or the call's token count. */
    float[] logits;
    int logitRows;

    /** Trace of the last call: gates[layer][t] (-1 for layers not routed) and layers used per token. */
    float[][] gates;
    int[] layersUsed;
    public final WorkCounter work;

    InferenceState(ModelConfig config, int contextLength) {
        this.config = config;
        this.contextLength = contextLength;
        long cacheFloats = (long) contextLength * config.kvDim();
        if (cacheFloats > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a context of " + contextLength + " tokens x " + config.kvDim() + " key/value dims is too large for one layer's cache; use a smaller --context");
        }
        this.keyCache = new float[config.numLayers()][];
        this.valueCache = new float[config.numLayers()][];
        for (int l = 0; l < config.numLayers(); l++) {
            keyCache[l] = new float[contextLength * config.kvDim()];
            valueCache[l] = new float[contextLength * config.kvDim()];
        }
        this.work = new WorkCounter(config.numLayers());
        this.gates = new float[config.numLayers()][];
        ensureCapacity(1);
    }

    void ensureCapacity(int rows) {
        if (rows <= capacity) return;
        ModelConfig c = config;
        int d = c.hiddenSize();
        int wide = Math.max(Math.max(d, c.queryDim()), c.intermediateSize());
        residual = new float[rows * d];
        normed = new float[rows * d];
        query = new float[rows * c.queryDim()];
        key = new float[rows * c.kvDim()];
        value = new float[rows * c.kvDim()];
        attention = new float[rows * c.queryDim()];
        projected = new float[rows * d];
        ffnGate = new float[rows * c.feedForwardWidth()];
        ffnUp = new float[rows * c.feedForwardWidth()];
        if (c.moe() != null) {
            int experts = c.moe().experts(), perToken = c.moe().expertsPerToken();
            routerLogits = new float[rows * experts];
            chosenWeights = new float[rows * perToken];
            chosenExperts = new int[rows * perToken];
            expertWeights = new float[rows];
            expertRows = new int[rows];
            expertProbs = new float[experts];
        }
        gathered = new float[rows * wide];
        gathered2 = new float[rows * d];
        run = new boolean[rows];
        ranAttention = new boolean[rows];
        gate = new float[rows];
        skipGate = new float[rows];
        positions = new int[rows];
        runRows = new int[rows];
        skipRows = new int[rows];
        layersUsed = new int[rows];
        for (int l = 0; l < gates.length; l++) gates[l] = new float[rows];
        capacity = rows;
    }

    /** The state whose KV cache holds row {@code t} of the current call. */
    InferenceState owner(int t) {
        return rowOwners == null ? this : rowOwners[t];
    }

    /** Bytes of this state's KV cache (keys and values of every layer at the full context length). */
    public long cacheBytes() {
        return 2L * config.numLayers() * contextLength * config.kvDim() * Float.BYTES;
    }

    /** Tokens held in the KV cache. */
    public int length() {
        return length;
    }

    public int contextLength() {
        return contextLength;
    }

    /** Forgets the sequence (the cache is overwritten from position 0). */
    public void reset() {
        length = 0;
    }

    /** Rolls the sequence back to {@code n} tokens (e.g. to reuse a shared prompt prefix). */
    public void truncate(int n) {
        if (n < 0 || n > length) throw new IllegalArgumentException("cannot truncate " + length + " tokens to " + n);
        length = n;
    }

    public float[] logits() {
        return logits;
    }

    /** Logits of row {@code row} of the last call, copied. */
    public float[] logitsRow(int row) {
        int v = config.vocabSize();
        return Arrays.copyOfRange(logits, row * v, (row + 1) * v);
    }

    public int logitRows() {
        return logitRows;
    }

    /** Gate of token {@code t} of the last call at {@code layer} (-1 when the layer is not routed). */
    public float gate(int layer, int t) {
        return gates[layer][t];
    }

    public int layersUsed(int t) {
        return layersUsed[t];
    }
}
