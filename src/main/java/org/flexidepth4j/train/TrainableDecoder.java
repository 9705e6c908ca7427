package org.flexidepth4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;
import org.flexidepth4j.model.DecoderVariant;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.tensor.Attention;
import org.flexidepth4j.tensor.Rope;
import org.flexidepth4j.tensor.VectorOps;

/**
 * The decoder for training: a forward over one sequence that keeps every activation the backward needs, and the
 * backward, layer by layer. Base weights are frozen or trainable per tensor. A skip method ({@link TrainableSkip})
 * gates the layers and mixes their outputs into the residual; the decoder computes the attention and the FFN for
 * every token (the method masks or scales them: the gradient is the same as gathering the run rows). The backward
 * stops below the lowest layer that has a trainable tensor: with only a plug-in training, the layers before its first
 * routed one cost a forward only.
 */
public final class TrainableDecoder {
    /** Activations of one layer for one sequence, saved by the forward for the backward. */
    private static final class Saved {
        final float[] x, qRaw, q, kRaw, k, v, att, lse, attOut, h1, y, ffGate, ffUp, ffAct, mlp;
        /** Before Gemma's post norms: o_proj's and down_proj's outputs (null without sandwich norms). */
        final float[] attRaw, mlpRaw;

        Saved(ModelConfig c, int T) {
            int d = c.hiddenSize(), qd = c.queryDim(), kvd = c.kvDim(), ff = c.intermediateSize();
            x = new float[T * d];
            qRaw = c.qkNorm() ? new float[T * qd] : null;
            kRaw = c.qkNorm() ? new float[T * kvd] : null;
            q = new float[T * qd];
            k = new float[T * kvd];
            v = new float[T * kvd];
            att = new float[T * qd];
            lse = new float[T * c.numHeads()];
            attOut = new float[T * d];
            h1 = new float[T * d];
            y = new float[T * d];
            ffGate = new float[T * ff];
            ffUp = new float[T * ff];
            ffAct = new float[T * ff];
            mlp = new float[T * d];
            attRaw = c.variant().sandwichNorms() ? new float[T * d] : null;
            mlpRaw = c.variant().sandwichNorms() ? new float[T * d] : null;
        }
    }

    /** What a decoder trains and with which skip method; {@link #build} allocates it for sequences up to maxLength. */
    public static final class Builder {
        private final ModelConfig config;
        private final ModelWeights weights;
        private final int maxLength;
        private Predicate<String> trainBase = name -> false;
        private TrainableSkip skip = TrainableSkip.NONE;

        private Builder(ModelConfig config, ModelWeights weights, int maxLength) {
            this.config = config;
            this.weights = weights;
            this.maxLength = maxLength;
        }

        /** Which base tensors (by HF name) are trainable; the rest stay frozen in their stored dtype. Default: none. */
        public Builder trainBase(Predicate<String> v) {
            trainBase = v;
            return this;
        }

        /** Trains every base tensor. */
        public Builder trainAllBase() {
            return trainBase(name -> true);
        }

        /** The skip method gating the layers; default {@link TrainableSkip#NONE} (dense). */
        public Builder skip(TrainableSkip v) {
            skip = v;
            return this;
        }

        public TrainableDecoder build() {
            return new TrainableDecoder(this);
        }
    }

    public static Builder builder(ModelConfig config, ModelWeights weights, int maxLength) {
        return new Builder(config, weights, maxLength);
    }

    private final ModelConfig c;
    private final Param embedding, finalNorm, lmHead;
    private final BaseParams.Layer[] layers;
    /** Per layer its mixture-of-experts FFN; null for a dense layer. */
    private final MoeFeedForward[] experts;
    private final TrainableSkip skip;
    private final Rope rope;
    /** The sliding layers' RoPE when it differs (Gemma 3), else null. */
    private final Rope slidingRope;
    private final int maxT;
    private final float eps;
    /** Lowest layer whose backward is needed (-1: down to the embedding). */
    private final int lowestBackward;

    private final Saved[] saved;
    private final float[][] residual; // residual[l] enters layer l; residual[L] enters the final norm
    private final float[] finalNormed, logits;
    /** The soft-capped logits, kept for the backward (the cross-entropy overwrites logits with its gradient); else null. */
    private final float[] cappedLogits;
    private int T;
    private int[] ids;
    private double lmLoss;

    // backward scratch, allocated once
    private final float[] dRes, dX, dY, dH1, dAtt, dAttOut, dQ, dK, dV, dQRaw, dKRaw, dFfGate, dFfUp, dFfAct, dMlp, dRaw;

    private TrainableDecoder(Builder b) {
        ModelConfig c = b.config;
        ModelWeights w = b.weights;
        Predicate<String> trainBase = b.trainBase;
        int maxT = b.maxLength;
        if (maxT < 2 || maxT > c.maxPositions()) throw new IllegalArgumentException("sequence length " + maxT + " must be in 2.." + c.maxPositions());
        this.c = c;
        this.skip = b.skip;
        this.maxT = maxT;
        this.eps = c.rmsNormEps();
        int L = c.numLayers(), d = c.hiddenSize();
        BaseParams base = BaseParams.of(w, trainBase);
        embedding = base.embedding();
        finalNorm = base.finalNorm();
        lmHead = base.lmHead();
        layers = base.layers();
        experts = new MoeFeedForward[L];
        for (int l = 0; l < L; l++) {
            if (w.layers()[l].experts() != null) {
                experts[l] = new MoeFeedForward(c, l, w.layers()[l].experts(), trainBase, maxT);
            }
        }
        int lowest = L;
        if (embedding.trainable()) lowest = -1;
        for (int l = L - 1; l >= 0 && lowest >= 0; l--) {
            boolean trainsExperts = experts[l] != null && experts[l].params().stream().anyMatch(Param::trainable);
            if (layers[l].params().stream().anyMatch(Param::trainable) || trainsExperts || skip.layer(l).trains()) lowest = l;
        }
        lowestBackward = lowest;
        rope = c.rope().tables(c.headDim(), maxT);
        slidingRope = c.variant().slidingRope() == null ? null : c.variant().slidingRope().tables(c.headDim(), maxT);

        // Layers below the backward keep nothing: they share one set of activation buffers, and their residual
        // streams alternate between two arrays (the last one written is the input the backward needs).
        saved = new Saved[L];
        residual = new float[L + 1][];
        Saved forwardOnly = lowestBackward > 0 ? new Saved(c, maxT) : null;
        float[][] alternate = lowestBackward > 0 ? new float[][] {new float[maxT * d], new float[maxT * d]} : null;
        for (int l = 0; l <= L; l++) {
            if (l < L) saved[l] = l < lowestBackward ? forwardOnly : new Saved(c, maxT);
            residual[l] = l <= lowestBackward && alternate != null ? alternate[l % 2] : new float[maxT * d];
        }
        finalNormed = new float[maxT * d];
        logits = new float[maxT * c.vocabSize()];
        cappedLogits = c.variant().finalSoftCap() > 0 ? new float[maxT * c.vocabSize()] : null;

        int qd = c.queryDim(), kvd = c.kvDim(), ff = c.intermediateSize();
        dRes = new float[maxT * d];
        dX = new float[maxT * d];
        dY = new float[maxT * d];
        dH1 = new float[maxT * d];
        dAtt = new float[maxT * qd];
        dAttOut = new float[maxT * d];
        dQ = new float[maxT * qd];
        dK = new float[maxT * kvd];
        dV = new float[maxT * kvd];
        dQRaw = c.qkNorm() ? new float[maxT * qd] : null;
        dKRaw = c.qkNorm() ? new float[maxT * kvd] : null;
        dFfGate = new float[maxT * ff];
        dFfUp = new float[maxT * ff];
        dFfAct = new float[maxT * ff];
        dMlp = new float[maxT * d];
        dRaw = c.variant().sandwichNorms() ? new float[maxT * d] : null;
    }

    /** Every tensor the optimizer updates (base tensors marked trainable, then the skip method's). */
    public List<Param> trainableParams() {
        List<Param> out = new ArrayList<>();
        for (Param p : allParams()) if (p.trainable() && !out.contains(p)) out.add(p);
        return out;
    }

    /** Every base and skip-method tensor, trainable or not (a tied lm_head is listed once). */
    public List<Param> allParams() {
        List<Param> out = new ArrayList<>();
        out.add(embedding);
        for (int l = 0; l < layers.length; l++) {
            out.addAll(layers[l].params());
            if (experts[l] != null) out.addAll(experts[l].params());
        }
        out.add(finalNorm);
        if (lmHead != embedding) out.add(lmHead);
        out.addAll(skip.params());
        return out;
    }

    public double lmLoss() {
        return lmLoss;
    }

    /** The last forward's loss: next-token cross-entropy plus the skip method's term. */
    public double loss() {
        return lmLoss + skip.loss();
    }

    public int length() {
        return T;
    }

    /** Lowest layer the backward runs through (-1: all of them and the embedding; numLayers: none). */
    public int lowestBackwardLayer() {
        return lowestBackward;
    }

    // ---- forward -------------------------------------------------------------------------------------------------

    /**
     * Runs ids[0..n) and returns {@link #loss}. The gradient of the cross-entropy is left in the logits buffer for
     * {@link #backward}.
     */
    public double forward(int[] ids, int n) {
        if (n < 2 || n > maxT) throw new IllegalArgumentException("sequence of " + n + " tokens must be in 2.." + maxT);
        this.T = n;
        this.ids = ids;
        int d = c.hiddenSize(), V = c.vocabSize();
        for (int t = 0; t < n; t++) {
            int id = ids[t];
            if (id < 0 || id >= V) throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + V);
            embedding.matrix().readRow(id, residual[0], t * d);
        }
        if (c.variant().scaledEmbedding()) {
            float e = embeddingScale();
            for (int i = 0; i < n * d; i++) residual[0][i] *= e;
        }
        skip.startForward(n);
        for (int l = 0; l < c.numLayers(); l++) layerForward(l);
        Ops.rmsNorm(residual[c.numLayers()], finalNorm.vector(), eps, finalNormed, n, d);
        Ops.linear(lmHead, finalNormed, logits, n);
        if (cappedLogits != null) {
            Ops.softCap(logits, n * V, c.variant().finalSoftCap());
            System.arraycopy(logits, 0, cappedLogits, 0, n * V);
        }
        for (int i = 0; i < n * V; i++) if (!Float.isFinite(logits[i])) throw new IllegalArgumentException("non-finite logit at token " + i / V + " (diverged?)");
        lmLoss = Ops.crossEntropyAndBackward(logits, ids, n, V, 1f);
        return loss();
    }

    private void layerForward(int l) {
        BaseParams.Layer w = layers[l];
        Saved a = saved[l];
        TrainableSkip.Layer gates = skip.layer(l);
        int n = T, d = c.hiddenSize(), kvd = c.kvDim(), ff = c.intermediateSize(), hd = c.headDim();
        float[] in = residual[l], out = residual[l + 1];
        Ops.rmsNorm(in, w.attnNorm().vector(), eps, a.x, n, d);
        gates.gate(a.x, n);
        projectHeads(w.wq(), w.bq(), w.qNorm(), a.x, a.qRaw, a.q, c.numHeads(), rope(l));
        projectHeads(w.wk(), w.bk(), w.kNorm(), a.x, a.kRaw, a.k, c.numKvHeads(), rope(l));
        Ops.linear(w.wv(), a.x, a.v, n);
        if (w.bv() != null) Ops.addBias(w.bv().vector(), a.v, n, kvd);
        Ops.attention(a.q, a.k, a.v, a.att, a.lse, n, c.numHeads(), c.numKvHeads(), hd, scores(l));
        Ops.linear(w.wo(), a.att, a.attRaw != null ? a.attRaw : a.attOut, n);
        if (a.attRaw != null) Ops.rmsNorm(a.attRaw, w.postAttnNorm().vector(), eps, a.attOut, n, d);
        gates.mixAttention(in, a.attOut, a.h1, n, d);
        Ops.rmsNorm(a.h1, w.ffnNorm().vector(), eps, a.y, n, d);
        gates.readFeedForwardInput(a.y, n);
        float[] ffOut = a.mlpRaw != null ? a.mlpRaw : a.mlp;
        if (experts[l] != null) {
            experts[l].forward(a.y, ffOut, n);
        } else {
            Ops.linear(w.wGate(), a.y, a.ffGate, n);
            Ops.linear(w.wUp(), a.y, a.ffUp, n);
            if (geglu()) Ops.geglu(a.ffGate, a.ffUp, a.ffAct, n * ff);
            else Ops.swiglu(a.ffGate, a.ffUp, a.ffAct, n * ff);
            Ops.linear(w.wDown(), a.ffAct, ffOut, n);
        }
        if (a.mlpRaw != null) Ops.rmsNorm(a.mlpRaw, w.postFfnNorm().vector(), eps, a.mlp, n, d);
        gates.mixOutput(in, a.h1, a.attOut, a.mlp, out, n, d);
    }

    private float embeddingScale() {
        return (float) Math.sqrt(c.hiddenSize());
    }

    private boolean geglu() {
        return c.variant().activation() == DecoderVariant.Activation.GELU_TANH;
    }

    private Rope rope(int layer) {
        return slidingRope != null && c.variant().slides(layer) ? slidingRope : rope;
    }

    /** Layer {@code layer}'s attention scores: the variant's scale and soft-cap, its window on a sliding layer. */
    private Attention.Scores scores(int layer) {
        DecoderVariant v = c.variant();
        return new Attention.Scores(v.attentionScale(c.headDim()), v.attentionSoftCap(), v.slides(layer) ? v.slidingWindow() : 0);
    }

    /**
     * x -> W x (+ b) -> norm (per head, or over all heads where the weight spans them: OLMoE) -> RoPE; raw keeps the
     * pre-norm projection when there is a norm.
     */
    private void projectHeads(Param w, Param bias, Param norm, float[] x, float[] raw, float[] out, int heads, Rope rope) {
        int n = T, width = heads * c.headDim();
        float[] pre = norm != null ? raw : out;
        Ops.linear(w, x, pre, n);
        if (bias != null) Ops.addBias(bias.vector(), pre, n, width);
        if (norm != null) Ops.rmsNorm(raw, norm.vector(), eps, out, n * width / norm.size(), norm.size());
        rope.rotateRows(out, n, heads, false);
    }

    // ---- backward ------------------------------------------------------------------------------------------------

    /** Adds scale × d(loss)/d(param) into every trainable tensor's gradient, for the last forward. */
    public void backward(float scale) {
        int n = T, d = c.hiddenSize(), V = c.vocabSize(), L = c.numLayers();
        if (lowestBackward >= L && !lmHead.trainable() && !finalNorm.trainable()) return;
        if (scale != 1f) for (int i = 0; i < n * V; i++) logits[i] *= scale;
        if (cappedLogits != null) Ops.softCapBackward(cappedLogits, logits, n * V, c.variant().finalSoftCap());
        Arrays.fill(dX, 0, n * d, 0f);
        Ops.linearBackward(lmHead, finalNormed, logits, dX, n);
        Arrays.fill(dRes, 0, n * d, 0f);
        Ops.rmsNormBackward(residual[L], finalNorm, eps, dX, dRes, n, d);
        for (int l = L - 1; l >= Math.max(0, lowestBackward); l--) layerBackward(l, scale);
        if (embedding.trainable()) {
            float e = c.variant().scaledEmbedding() ? embeddingScale() : 1f;
            for (int t = 0; t < n; t++) VectorOps.axpy(e, dRes, t * d, embedding.grad(), ids[t] * d, d);
        }
    }

    /** On entry dRes holds d(loss)/d(layer output); on exit d(loss)/d(layer input). */
    private void layerBackward(int l, float scale) {
        BaseParams.Layer w = layers[l];
        Saved a = saved[l];
        TrainableSkip.Layer gates = skip.layer(l);
        int n = T, d = c.hiddenSize(), qd = c.queryDim(), kvd = c.kvDim(), ff = c.intermediateSize(), hd = c.headDim();
        boolean inputGrad = l > lowestBackward; // a layer or the embedding below needs d/d(input)

        Arrays.fill(dMlp, 0, n * d, 0f);
        Arrays.fill(dAttOut, 0, n * d, 0f);
        gates.mixOutputBackward(dRes, a.attOut, a.mlp, dMlp, dAttOut, n, d, scale);
        Arrays.fill(dY, 0, n * d, 0f);
        float[] dFfOut = postNormBackward(a.mlpRaw, w.postFfnNorm(), dMlp);
        if (experts[l] != null) {
            experts[l].backward(a.y, dFfOut, dY, n);
        } else {
            Arrays.fill(dFfAct, 0, n * ff, 0f);
            Ops.linearBackward(w.wDown(), a.ffAct, dFfOut, dFfAct, n);
            Arrays.fill(dFfGate, 0, n * ff, 0f);
            Arrays.fill(dFfUp, 0, n * ff, 0f);
            if (geglu()) Ops.gegluBackward(a.ffGate, a.ffUp, dFfAct, dFfGate, dFfUp, n * ff);
            else Ops.swigluBackward(a.ffGate, a.ffUp, dFfAct, dFfGate, dFfUp, n * ff);
            Ops.linearBackward(w.wGate(), a.y, dFfGate, dY, n);
            Ops.linearBackward(w.wUp(), a.y, dFfUp, dY, n);
        }
        gates.readFeedForwardInputBackward(a.y, dY, n, scale);
        Arrays.fill(dH1, 0, n * d, 0f);
        Ops.rmsNormBackward(a.h1, w.ffnNorm(), eps, dY, dH1, n, d);
        gates.mixAttentionBackward(a.attOut, dRes, dH1, dAttOut, n, d);
        Arrays.fill(dAtt, 0, n * qd, 0f);
        Ops.linearBackward(w.wo(), a.att, postNormBackward(a.attRaw, w.postAttnNorm(), dAttOut), dAtt, n);
        Arrays.fill(dQ, 0, n * qd, 0f);
        Arrays.fill(dK, 0, n * kvd, 0f);
        Arrays.fill(dV, 0, n * kvd, 0f);
        Ops.attentionBackward(a.q, a.k, a.v, a.att, a.lse, dAtt, dQ, dK, dV, n, c.numHeads(), c.numKvHeads(), hd, scores(l));
        Arrays.fill(dX, 0, n * d, 0f);
        float[] dx = inputGrad || w.attnNorm().trainable() ? dX : null;
        headsBackward(w.wq(), w.bq(), w.qNorm(), a.x, a.qRaw, dQ, dQRaw, dx, c.numHeads(), rope(l));
        headsBackward(w.wk(), w.bk(), w.kNorm(), a.x, a.kRaw, dK, dKRaw, dx, c.numKvHeads(), rope(l));
        if (w.bv() != null) Ops.addBiasBackward(w.bv(), dV, n);
        Ops.linearBackward(w.wv(), a.x, dV, dx, n);
        gates.gateBackward(a.x, dx, n, scale);
        if (dx != null) Ops.rmsNormBackward(residual[l], w.attnNorm(), eps, dX, dRes, n, d);
    }

    /**
     * d(raw) of a Gemma post norm out = norm(raw) given d(out), in the shared scratch; d(out) itself without post norms
     * (raw null).
     */
    private float[] postNormBackward(float[] raw, Param norm, float[] dOut) {
        if (raw == null) return dOut;
        int n = T * c.hiddenSize();
        Arrays.fill(dRaw, 0, n, 0f);
        Ops.rmsNormBackward(raw, norm, eps, dOut, dRaw, T, c.hiddenSize());
        return dRaw;
    }

    /** Backward of {@link #projectHeads}: un-rotate, norm backward, bias, then the projection. */
    private void headsBackward(Param w, Param bias, Param norm, float[] x, float[] raw, float[] dOut, float[] dRaw, float[] dx, int heads, Rope rope) {
        int n = T, width = heads * c.headDim();
        rope.rotateRows(dOut, n, heads, true);
        float[] dPre = dOut;
        if (norm != null) {
            Arrays.fill(dRaw, 0, n * width, 0f);
            Ops.rmsNormBackward(raw, norm, eps, dOut, dRaw, n * width / norm.size(), norm.size());
            dPre = dRaw;
        }
        if (bias != null) Ops.addBiasBackward(bias, dPre, n);
        Ops.linearBackward(w, x, dPre, dx, n);
    }
}
