package org.flexidepth4j.model;

import java.util.Arrays;
import org.flexidepth4j.tensor.Attention;
import org.flexidepth4j.tensor.Matrix;
import org.flexidepth4j.tensor.Parallel;
import org.flexidepth4j.tensor.Rope;
import org.flexidepth4j.tensor.VectorOps;

/**
 * The decoder forward pass of every supported architecture, for a batch of consecutive tokens of one sequence
 * (prefill: many rows; decode: one row). A routed layer gathers the rows that run and computes queries, attention,
 * o_proj and the FFN for them alone; skipped rows get only their K/V (so later tokens can attend to them) and the
 * policy's skip path. After the attention residual the policy may decide the FFN rows again
 * ({@link SkipPolicy#routeFeedForward}: per-module routing): a row that skips the FFN costs nothing there.
 */
public final class Transformer {
    private final ModelConfig config;
    private final ModelWeights weights;
    private final Rope rope;
    /** The sliding-window layers' RoPE when it differs from {@link #rope} (Gemma 3's local base), else null. */
    private final Rope slidingRope;
    /** Longrope's short-factor tables, for states whose context fits the original one ({@link RopeConfig#forContext}); else null. */
    private final Rope shortContextRope;
    /** What errors call this model (its file, set by {@link Model}). */
    private volatile String label = "the model";

    public Transformer(ModelConfig config, ModelWeights weights) {
        this.config = config;
        this.weights = weights;
        this.rope = config.rope().tables(config.headDim(), config.maxPositions());
        RopeConfig sliding = config.variant().slidingRope();
        this.slidingRope = sliding == null ? null : sliding.tables(config.headDim(), config.maxPositions());
        this.shortContextRope = config.rope().scaling() instanceof RopeConfig.LongRope l && l.originalMaxPositions() < config.maxPositions()
                ? config.rope().tables(config.headDim(), l.originalMaxPositions()) : null;
    }

    public ModelConfig config() {
        return config;
    }

    void label(String source) {
        label = source;
    }

    public ModelWeights weights() {
        return weights;
    }

    /** A fresh sequence state with room for {@code contextLength} tokens (at most the model's max positions). */
    public InferenceState newState(int contextLength) {
        return new InferenceState(config, Math.min(contextLength, rope.positions()));
    }

    /**
     * Appends tokens[offset .. offset+count) to the sequence and runs them. Logits land in {@link
     * InferenceState#logits()}: for every row when {@code allLogits}, else for the last row only.
     */
    public void forward(InferenceState s, int[] tokens, int offset, int count, SkipPolicy policy, boolean allLogits) {
        if (count <= 0) throw new IllegalArgumentException("no tokens to run");
        if (s.length + count > s.contextLength) {
            throw new IllegalArgumentException("sequence of " + (s.length + count) + " tokens exceeds the context length " + s.contextLength);
        }
        int d = config.hiddenSize();
        s.ensureCapacity(count);
        for (int t = 0; t < count; t++) {
            int id = tokens[offset + t];
            if (id < 0 || id >= config.vocabSize()) throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + config.vocabSize());
            embed(id, s.residual, t * d);
            s.positions[t] = s.length + t;
        }
        s.rowOwners = null;
        try {
            layers(s, count, policy);
            s.length += count;
            logits(s, count, allLogits);
            NonFiniteException.check(s.logits, 0, s.logitRows * config.vocabSize(), "the logits at position " + (s.length - 1));
        } catch (NonFiniteException e) {
            throw e.in(label);
        }
    }

    /**
     * Scratch for {@link #decode} of up to {@code maxSequences} sequences at once: no KV cache of its own; it holds
     * the step's rows, their logits [sequences, vocab] and their trace.
     */
    public InferenceState newBatch(int maxSequences) {
        if (maxSequences < 1) throw new IllegalArgumentException("a batch needs room for at least one sequence");
        InferenceState batch = new InferenceState(config, 0);
        batch.ensureCapacity(maxSequences);
        return batch;
    }

    /**
     * One decode step of several sequences together (continuous batching): tokens[i] is appended to sequences[i]
     * and run at its own position against its own KV cache; every weight row is read once for all rows. Each row's
     * sums are those a one-token {@link #forward} of that sequence gives, bit for bit (below {@link
     * Matrix#GEMM_MIN_TOKENS} rows a matmul is a {@link Matrix#dot} per row and token, and attention runs per row),
     * so a sequence's output does not depend on what it is batched with. Logits of row i land in row i of {@code
     * batch}'s logits; its trace gives each row's gates and layers used.
     */
    public void decode(InferenceState batch, InferenceState[] sequences, int[] tokens, int count, SkipPolicy policy) {
        if (count <= 0) throw new IllegalArgumentException("no sequences to run");
        if (count > batch.capacity || count >= Matrix.GEMM_MIN_TOKENS) {
            throw new IllegalArgumentException("a batch of " + count + " sequences exceeds the batch's room of " + batch.capacity);
        }
        int d = config.hiddenSize();
        for (int t = 0; t < count; t++) {
            InferenceState seq = sequences[t];
            if (seq.length >= seq.contextLength) throw new IllegalArgumentException("sequence " + t + " is at its context length " + seq.contextLength);
            for (int u = 0; u < t; u++) if (sequences[u] == seq) throw new IllegalArgumentException("a sequence appears twice in one batch");
            int id = tokens[t];
            if (id < 0 || id >= config.vocabSize()) throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + config.vocabSize());
            embed(id, batch.residual, t * d);
            batch.positions[t] = seq.length;
        }
        batch.rowOwners = sequences;
        try {
            layers(batch, count, policy);
            for (int t = 0; t < count; t++) sequences[t].length++;
            logits(batch, count, true);
            NonFiniteException.check(batch.logits, 0, count * config.vocabSize(), "the logits of a batched decode step");
        } catch (NonFiniteException e) {
            throw e.in(label);
        }
    }

    /** The embedding row of {@code id} into dst[off ..], times sqrt(hidden size) where the variant scales it (Gemma). */
    private void embed(int id, float[] dst, int off) {
        int d = config.hiddenSize();
        weights.embedding().readRow(id, dst, off);
        if (config.variant().scaledEmbedding()) {
            float scale = (float) Math.sqrt(d);
            for (int i = off; i < off + d; i++) dst[i] *= scale;
        }
    }

    private Rope rope(int layer, InferenceState owner) {
        if (slidingRope != null && config.variant().slides(layer)) return slidingRope;
        return shortContextRope != null && owner.contextLength <= shortContextRope.positions() ? shortContextRope : rope;
    }

    private void layers(InferenceState s, int count, SkipPolicy policy) {
        Arrays.fill(s.layersUsed, 0, count, 0);
        for (int l = 0; l < config.numLayers(); l++) {
            policy.observeResidual(l, s.residual, count);
            layer(l, s, count, policy);
        }
        policy.observeResidual(config.numLayers(), s.residual, count);
    }

    private void layer(int l, InferenceState s, int n, SkipPolicy policy) {
        LayerWeights w = weights.layers()[l];
        SkipPolicy.Plan plan = policy.plan(l);
        float[] layerGates = s.gates[l];
        if (plan == SkipPolicy.Plan.REMOVED) {
            Arrays.fill(layerGates, 0, n, policy.isRouted(l) ? 0f : -1f);
            return;
        }
        int d = config.hiddenSize();
        float eps = config.rmsNormEps();
        for (int t = 0; t < n; t++) VectorOps.rmsNorm(s.residual, t * d, w.attnNorm(), eps, s.normed, t * d, d);

        if (plan == SkipPolicy.Plan.ROUTED) {
            policy.route(l, s.normed, n, s.positions, s.run, s.gate, s.work);
        } else {
            Arrays.fill(s.run, 0, n, true);
            Arrays.fill(s.gate, 0, n, 1f);
        }
        int nRun = 0;
        for (int t = 0; t < n; t++) {
            if (s.run[t]) s.runRows[nRun++] = t;
            layerGates[t] = plan == SkipPolicy.Plan.ROUTED || policy.isRouted(l) ? s.gate[t] : -1f;
            if (s.run[t]) s.layersUsed[t]++;
        }

        // K and V for every row: the cache stays complete whatever the routing.
        keyValues(l, w, s, n);
        if (nRun > 0) attentionBlock(l, w, s, nRun, nRun == n);
        for (int t = 0; t < n; t++) VectorOps.rmsNorm(s.residual, t * d, w.ffnNorm(), eps, s.normed, t * d, d);
        if (plan == SkipPolicy.Plan.ROUTED) {
            // the FFN's own decision on post_attention_layernorm(h + attention) (per-module routing); the trace shows
            // the mean of the two gates, and a token used the layer if it ran either module
            System.arraycopy(s.run, 0, s.ranAttention, 0, n);
            policy.routeFeedForward(l, s.normed, n, s.positions, s.run, s.gate, s.work);
            for (int t = 0; t < n; t++) {
                layerGates[t] = 0.5f * (layerGates[t] + s.gate[t]);
                if (s.run[t] && !s.ranAttention[t]) s.layersUsed[t]++;
            }
        }
        nRun = 0;
        int nSkip = 0;
        for (int t = 0; t < n; t++) {
            if (s.run[t]) s.runRows[nRun++] = t;
            else s.skipRows[nSkip++] = t;
        }
        if (nRun > 0) feedForward(l, w, s, nRun, nRun == n);
        if (nSkip > 0 && policy.hasSkipPath(l)) {
            gatherRows(s.normed, s.skipRows, nSkip, d, s.gathered2);
            for (int i = 0; i < nSkip; i++) s.skipGate[i] = s.gate[s.skipRows[i]];
            policy.addSkipPath(l, s.gathered2, nSkip, s.skipGate, s.skipRows, s.residual, s.work);
        }
    }

    private void keyValues(int l, LayerWeights w, InferenceState s, int n) {
        int d = config.hiddenSize(), kvd = config.kvDim();
        matmul(l, s.normed, n, w.wk(), s.key, w.wv(), s.value, s);
        for (int t = 0; t < n; t++) {
            if (w.bk() != null) {
                VectorOps.add(w.bk(), 0, s.key, t * kvd, kvd);
                VectorOps.add(w.bv(), 0, s.value, t * kvd, kvd);
            }
            if (w.kNorm() != null) headNorm(s.key, t * kvd, config.numKvHeads(), w.kNorm());
            InferenceState owner = s.owner(t);
            rope(l, owner).rotate(s.key, t * kvd, config.numKvHeads(), s.positions[t], false);
            System.arraycopy(s.key, t * kvd, owner.keyCache[l], s.positions[t] * kvd, kvd);
            System.arraycopy(s.value, t * kvd, owner.valueCache[l], s.positions[t] * kvd, kvd);
        }
    }

    /** Queries, causal attention over the cache, o_proj and the residual add, for the run rows only. */
    private void attentionBlock(int l, LayerWeights w, InferenceState s, int nRun, boolean allRun) {
        int d = config.hiddenSize(), qd = config.queryDim();
        float[] in = s.normed;
        if (!allRun) {
            gatherRows(s.normed, s.runRows, nRun, d, s.gathered);
            in = s.gathered;
        }
        matmul(l, w.wq(), in, s.query, nRun, s);
        for (int r = 0; r < nRun; r++) {
            int pos = s.positions[s.runRows[r]];
            if (w.bq() != null) VectorOps.add(w.bq(), 0, s.query, r * qd, qd);
            if (w.qNorm() != null) headNorm(s.query, r * qd, config.numHeads(), w.qNorm());
            rope(l, s.owner(s.runRows[r])).rotate(s.query, r * qd, config.numHeads(), pos, false);
        }
        attend(l, s, nRun);
        matmul(l, w.wo(), s.attention, s.projected, nRun, s);
        if (w.postNorms() != null) normRows(s.projected, nRun, w.postNorms().attention());
        for (int r = 0; r < nRun; r++) VectorOps.add(s.projected, r * d, s.residual, s.runRows[r] * d, d);
    }

    /**
     * Causal attention over the cached keys and values each query sees (the last window of them on a sliding layer):
     * its scores, their softmax (one vector exp pass), then the weighted sum of the values.
     */
    private void attend(int l, InferenceState s, int nRun) {
        int hd = config.headDim(), heads = config.numHeads(), kvd = config.kvDim(), qd = config.queryDim();
        int group = heads / config.numKvHeads();
        DecoderVariant variant = config.variant();
        Attention.Scores scores = new Attention.Scores(variant.attentionScale(hd), variant.attentionSoftCap(),
                variant.slides(l) ? variant.slidingWindow() : 0);
        long positions = 0;
        int longest = 0;
        for (int r = 0; r < nRun; r++) {
            int pos = s.positions[s.runRows[r]];
            positions += pos + 1 - scores.firstKey(pos);
            longest = Math.max(longest, pos + 1 - scores.firstKey(pos));
        }
        s.work.add(l, 2 * positions * qd, 2 * positions * kvd * Float.BYTES);
        if (nRun >= BLOCK_ATTENTION_MIN_ROWS && s.rowOwners == null) {
            float[] kc = s.keyCache[l], vc = s.valueCache[l];
            int keys = s.positions[s.runRows[nRun - 1]] + 1;
            if (s.keysTransposed == null || s.keysTransposed.length < keys * kvd) s.keysTransposed = new float[keys * kvd];
            VectorOps.transpose(kc, keys, kvd, kvd, s.keysTransposed);
            Attention.forward(s.query, s.keysTransposed, keys, vc, s.attention, null, nRun, r -> s.positions[s.runRows[r]],
                    heads, config.numKvHeads(), hd, scores);
            return;
        }
        // a chunk of (row, head) items is worth a hand-off from about PARALLEL_MIN_WORK multiply-adds (q·k and p·v)
        int minItems = (int) Math.max(1, PARALLEL_MIN_WORK / (2L * longest * hd));
        int scoreRoom = longest;
        Parallel.pool().forRange(nRun * heads, minItems, (start, end) -> {
            float[] p = new float[scoreRoom];
            for (int item = start; item < end; item++) {
                int r = item / heads, h = item % heads;
                int pos = s.positions[s.runRows[r]], first = scores.firstKey(pos), n = pos + 1 - first;
                InferenceState owner = s.owner(s.runRows[r]);
                float[] kc = owner.keyCache[l], vc = owner.valueCache[l];
                int qOff = r * qd + h * hd, kvOff = (h / group) * hd, out = r * qd + h * hd;
                for (int i = 0; i < n; i++) p[i] = VectorOps.dot(s.query, qOff, kc, (first + i) * kvd + kvOff, hd);
                float scale = scores.scaleCapping(p, 0, n), max = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < n; i++) max = Math.max(max, p[i] * scale);
                VectorOps.expScaledShifted(p, 0, n, scale, max);
                Arrays.fill(s.attention, out, out + hd, 0f);
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    sum += p[i];
                    VectorOps.axpy(p[i], vc, (first + i) * kvd + kvOff, s.attention, out, hd);
                }
                float inv = (float) (1 / sum);
                for (int i = out; i < out + hd; i++) s.attention[i] *= inv;
            }
        });
    }

    /** Multiply-adds from which a parallel region pays for its hand-off (as {@code Matrix}'s threshold). */
    private static final long PARALLEL_MIN_WORK = 1L << 18;

    /**
     * From this many query rows on (prefill, scoring) attention runs as {@link Attention}'s Gemm blocks, which pay
     * one transpose of the keys; fewer (decode) keep the per-query online softmax.
     */
    private static final int BLOCK_ATTENTION_MIN_ROWS = 8;

    /** The FFN (dense SwiGLU or mixture of experts) of the run rows, scaled by their gates, added into the residual. */
    private void feedForward(int l, LayerWeights w, InferenceState s, int nRun, boolean allRun) {
        int d = config.hiddenSize();
        float[] in = s.normed;
        if (!allRun) {
            gatherRows(s.normed, s.runRows, nRun, d, s.gathered);
            in = s.gathered;
        }
        if (w.experts() != null) {
            mixtureOfExperts(l, w.experts(), s, in, nRun);
            return;
        }
        gatedFeedForward(l, w.wGate(), w.wUp(), w.wDown(), in, nRun, s);
        if (w.postNorms() != null) normRows(s.projected, nRun, w.postNorms().feedForward());
        for (int r = 0; r < nRun; r++) {
            int row = s.runRows[r];
            VectorOps.axpy(s.gate[row], s.projected, r * d, s.residual, row * d, d);
        }
    }

    /** down(act(gate x) * up x) of {@code rows} rows of x into {@code s.projected}, act the variant's SiLU or GELU-tanh. */
    private void gatedFeedForward(int l, Matrix gate, Matrix up, Matrix down, float[] x, int rows, InferenceState s) {
        matmul(l, x, rows, gate, s.ffnGate, up, s.ffnUp, s);
        if (config.variant().activation() == DecoderVariant.Activation.GELU_TANH) VectorOps.geluTanhMul(s.ffnGate, 0, s.ffnUp, 0, rows * gate.rows());
        else VectorOps.siluMul(s.ffnGate, 0, s.ffnUp, 0, rows * gate.rows());
        matmul(l, down, s.ffnGate, s.projected, rows, s);
    }

    /**
     * The mixture-of-experts FFN of the run rows (x, gathered): the router picks each row's experts, then each
     * expert some row chose runs once over all the rows that chose it (one multi-token matmul per expert in prefill);
     * an expert no row chose does not run. Outputs are added expert by expert, in expert order, so a row's sums do
     * not depend on the other rows of the batch.
     */
    private void mixtureOfExperts(int l, Experts x, InferenceState s, float[] in, int nRun) {
        MoeConfig moe = config.moe();
        int d = config.hiddenSize(), count = moe.experts(), perToken = moe.expertsPerToken();
        matmul(l, x.router(), in, s.routerLogits, nRun, s);
        for (int r = 0; r < nRun; r++) moe.route(s.routerLogits, r * count, s.expertProbs, s.chosenExperts, s.chosenWeights, r * perToken);
        for (int e = 0; e < count; e++) {
            int rows = 0;
            for (int i = 0; i < nRun * perToken; i++) {
                if (s.chosenExperts[i] != e) continue;
                s.expertRows[rows] = i / perToken;
                s.expertWeights[rows++] = s.chosenWeights[i];
            }
            if (rows == 0) continue;
            gatherRows(in, s.expertRows, rows, d, s.gathered2);
            s.work.addExpertRuns(l, rows);
            gatedFeedForward(l, x.gate()[e], x.up()[e], x.down()[e], s.gathered2, rows, s);
            for (int i = 0; i < rows; i++) {
                int row = s.runRows[s.expertRows[i]];
                VectorOps.axpy(s.gate[row] * s.expertWeights[i], s.projected, i * d, s.residual, row * d, d);
            }
        }
        if (x.sharedGate() == null) return;
        s.work.add(l, (long) nRun * d, (long) d * Float.BYTES);
        gatedFeedForward(l, x.sharedGate(), x.sharedUp(), x.sharedDown(), in, nRun, s);
        for (int r = 0; r < nRun; r++) {
            int row = s.runRows[r];
            float sharedGate = 1f / (1f + (float) Math.exp(-VectorOps.dot(x.sharedRouter(), 0, in, r * d, d)));
            VectorOps.axpy(s.gate[row] * sharedGate, s.projected, r * d, s.residual, row * d, d);
        }
    }

    private void logits(InferenceState s, int n, boolean allLogits) {
        int d = config.hiddenSize(), v = config.vocabSize();
        int first = allLogits ? 0 : n - 1;
        int rows = n - first;
        for (int t = first; t < n; t++) VectorOps.rmsNorm(s.residual, t * d, weights.finalNorm(), config.rmsNormEps(), s.normed, (t - first) * d, d);
        if (s.logits == null || s.logits.length < rows * v) s.logits = new float[rows * v];
        s.work.matmul(config.numLayers(), weights.lmHead(), rows);
        weights.lmHead().matmul(s.normed, s.logits, rows);
        float cap = config.variant().finalSoftCap();
        if (cap > 0) for (int i = 0; i < rows * v; i++) s.logits[i] = cap * (float) StrictMath.tanh(s.logits[i] / cap);
        s.logitRows = rows;
    }

    private void matmul(int l, Matrix w, float[] in, float[] out, int rows, InferenceState s) {
        s.work.matmul(l, w, rows);
        w.matmul(in, out, rows);
    }

    /** Two matrices over one input (k and v, gate and up), counted as two matmuls: {@link Matrix#matmul(float[], int, Matrix, float[], Matrix, float[])}. */
    private void matmul(int l, float[] in, int rows, Matrix a, float[] outA, Matrix b, float[] outB, InferenceState s) {
        s.work.matmul(l, a, rows);
        s.work.matmul(l, b, rows);
        Matrix.matmul(in, rows, a, outA, b, outB);
    }

    private static void gatherRows(float[] src, int[] rows, int n, int width, float[] dst) {
        for (int i = 0; i < n; i++) System.arraycopy(src, rows[i] * width, dst, i * width, width);
    }

    /** RMS-norms rows [0, n) of x in place (Gemma's sandwich norms). */
    private void normRows(float[] x, int n, float[] weight) {
        int d = config.hiddenSize();
        for (int r = 0; r < n; r++) VectorOps.rmsNorm(x, r * d, weight, config.rmsNormEps(), x, r * d, d);
    }

    /** Per-head RMSNorm, or one over all heads when the weight spans them (OLMoE). */
    private void headNorm(float[] x, int off, int heads, float[] weight) {
        int hd = config.headDim();
        if (weight.length == heads * hd && heads > 1) {
            VectorOps.rmsNorm(x, off, weight, config.rmsNormEps(), x, off, heads * hd);
            return;
        }
        for (int h = 0; h < heads; h++) VectorOps.rmsNorm(x, off + h * hd, weight, config.rmsNormEps(), x, off + h * hd, hd);
    }
}
