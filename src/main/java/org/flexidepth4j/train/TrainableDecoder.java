package org.flexidepth4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;
import org.flexidepth4j.model.LayerWeights;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.skip.BinaryRouterConfig.Site;
import org.flexidepth4j.tensor.Matrix;
import org.flexidepth4j.tensor.VectorOps;

/**
 * The decoder for training: a forward over one sequence that keeps every activation the backward needs, and the
 * backward, layer by layer. Base weights are frozen or trainable per tensor; an optional FlexiDepth {@link PlugIn}
 * routes its layers with the inference arithmetic of METHODS.md (hard run decision g > threshold, attention masked,
 * FFN scaled by g, adapter by 1 − g) and adds alpha × skip loss. Queries, attention and the FFN are computed for
 * every token and masked (the gradient is the same as gathering the run rows). The backward stops below the lowest
 * layer that has a trainable tensor: with only the plug-in training, the layers before the first routed one cost a
 * forward only. Optional Learning-to-Skip routers ({@link TrainableSkipRouters}) gate whole layers instead:
 * out = h + gate · (Block(h) − h), Block computed for every token; or, per module, h1 = h + g_a · attention and
 * out = h1 + g_f · FFN(post_attention_layernorm(h1)), attention and FFN computed for every token.
 */
public final class TrainableDecoder {
    /** One layer's tensors in HF naming; biases and q/k norms are null where the architecture has none. */
    public record Layer(Param attnNorm, Param wq, Param wk, Param wv, Param wo, Param bq, Param bk, Param bv,
                        Param qNorm, Param kNorm, Param ffnNorm, Param wGate, Param wUp, Param wDown) {
        List<Param> params() {
            List<Param> out = new ArrayList<>();
            for (Param p : new Param[] {attnNorm, wq, wk, wv, wo, bq, bk, bv, qNorm, kNorm, ffnNorm, wGate, wUp, wDown}) if (p != null) out.add(p);
            return out;
        }
    }

    /** Activations of one layer for one sequence, saved by the forward for the backward. */
    private static final class Saved {
        final float[] x, qRaw, q, kRaw, k, v, att, lse, attOut, h1, y, ffGate, ffUp, ffAct, mlp;
        final float[] zPre, zAct, u, gate, gateFfn, adGate, adDown, adAct, adOut;
        final boolean[] run, runFfn;

        Saved(ModelConfig c, int T, PlugIn.Router r) {
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
            gate = new float[T];
            run = new boolean[T];
            gateFfn = new float[T]; // per-module Learning-to-Skip: the FFN's own gate
            runFfn = new boolean[T];
            int rd = r == null ? 0 : r.enc().rows(), ad = r == null ? 0 : r.gate().rows();
            zPre = new float[T * rd];
            zAct = new float[T * rd];
            u = new float[r == null ? 0 : T * d];
            adGate = new float[T * ad];
            adDown = new float[T * ad];
            adAct = new float[T * ad];
            adOut = new float[r == null ? 0 : T * d];
        }
    }

    private final ModelConfig c;
    private final Param embedding, finalNorm, lmHead;
    private final Layer[] layers;
    private final PlugIn plugIn;
    /** Learning-to-Skip binary routers (METHODS.md section 2), or null. */
    private final TrainableSkipRouters skipRouters;
    private final Ops.Rope rope;
    private final int maxT;
    private final float eps;
    private final float alpha;
    private final float threshold;
    /** Lowest layer whose backward is needed (-1: down to the embedding). */
    private final int lowestBackward;

    private final Saved[] saved;
    private final float[][] residual; // residual[l] enters layer l; residual[L] enters the final norm
    private final float[] finalNormed, logits;
    private int T;
    private int[] ids;
    private double lmLoss, skipLoss;
    private final float[] gateSum; // per token: sum over routed layers of g

    // backward scratch, allocated once
    private final float[] dRes, dX, dY, dAtt, dAttOut, dQ, dK, dV, dQRaw, dKRaw, dFfGate, dFfUp, dFfAct, dMlp;
    private final float[] dZAct, dZNorm, dZPre, dU, dLogit, dAdGate, dAdDown, dAdAct, dAdOut;
    private final float[] dH1, dGate, dGateFfn;

    /**
     * @param trainBase which base tensors (by HF name) are trainable; the rest stay frozen in their stored dtype
     * @param plugIn    FlexiDepth routers to train with the base, or null for a dense model
     * @param alpha     weight of the skip loss
     * @param threshold run decision g > threshold (0.5)
     */
    public TrainableDecoder(ModelConfig c, ModelWeights w, Predicate<String> trainBase, PlugIn plugIn, float alpha, float threshold, int maxT) {
        this(c, w, trainBase, plugIn, alpha, threshold, maxT, null);
    }

    /** With Learning-to-Skip routers: a routed layer's output is h + gate * (Block(h) - h). */
    public TrainableDecoder(ModelConfig c, ModelWeights w, Predicate<String> trainBase, PlugIn plugIn, float alpha, float threshold, int maxT,
                            TrainableSkipRouters skipRouters) {
        this.skipRouters = skipRouters;
        if (maxT < 2 || maxT > c.maxPositions()) throw new IllegalArgumentException("sequence length " + maxT + " must be in 2.." + c.maxPositions());
        this.c = c;
        this.plugIn = plugIn;
        this.alpha = alpha;
        this.threshold = threshold;
        this.maxT = maxT;
        this.eps = c.rmsNormEps();
        int L = c.numLayers(), d = c.hiddenSize();
        embedding = matrix("model.embed_tokens.weight", w.embedding(), trainBase);
        finalNorm = vector("model.norm.weight", w.finalNorm(), trainBase);
        lmHead = w.lmHead() == w.embedding() ? embedding : matrix("lm_head.weight", w.lmHead(), trainBase);
        layers = new Layer[L];
        for (int l = 0; l < L; l++) {
            LayerWeights lw = w.layers()[l];
            String p = "model.layers." + l + ".";
            layers[l] = new Layer(vector(p + "input_layernorm.weight", lw.attnNorm(), trainBase),
                    matrix(p + "self_attn.q_proj.weight", lw.wq(), trainBase), matrix(p + "self_attn.k_proj.weight", lw.wk(), trainBase),
                    matrix(p + "self_attn.v_proj.weight", lw.wv(), trainBase), matrix(p + "self_attn.o_proj.weight", lw.wo(), trainBase),
                    vector(p + "self_attn.q_proj.bias", lw.bq(), trainBase), vector(p + "self_attn.k_proj.bias", lw.bk(), trainBase),
                    vector(p + "self_attn.v_proj.bias", lw.bv(), trainBase),
                    vector(p + "self_attn.q_norm.weight", lw.qNorm(), trainBase), vector(p + "self_attn.k_norm.weight", lw.kNorm(), trainBase),
                    vector(p + "post_attention_layernorm.weight", lw.ffnNorm(), trainBase),
                    matrix(p + "mlp.gate_proj.weight", lw.wGate(), trainBase), matrix(p + "mlp.up_proj.weight", lw.wUp(), trainBase),
                    matrix(p + "mlp.down_proj.weight", lw.wDown(), trainBase));
        }
        int lowest = L;
        if (embedding.trainable()) lowest = -1;
        for (int l = L - 1; l >= 0 && lowest >= 0; l--) {
            boolean any = layers[l].params().stream().anyMatch(Param::trainable) || plugIn != null && plugIn.router(l) != null || binary(l);
            if (any) lowest = l;
        }
        lowestBackward = lowest;
        rope = Ops.Rope.of(c.rope().inverseFrequencies(c.headDim()), c.headDim(), c.rope().interleaved(), maxT);

        // Layers below the backward keep nothing: they share one set of activation buffers, and their residual
        // streams alternate between two arrays (the last one written is the input the backward needs).
        saved = new Saved[L];
        residual = new float[L + 1][];
        Saved forwardOnly = lowestBackward > 0 ? new Saved(c, maxT, null) : null;
        float[][] alternate = lowestBackward > 0 ? new float[][] {new float[maxT * d], new float[maxT * d]} : null;
        for (int l = 0; l <= L; l++) {
            if (l < L) saved[l] = l < lowestBackward ? forwardOnly : new Saved(c, maxT, router(l));
            residual[l] = l <= lowestBackward && alternate != null ? alternate[l % 2] : new float[maxT * d];
        }
        finalNormed = new float[maxT * d];
        logits = new float[maxT * c.vocabSize()];
        gateSum = new float[maxT];

        int qd = c.queryDim(), kvd = c.kvDim(), ff = c.intermediateSize();
        int rd = 0, ad = 0;
        if (plugIn != null) {
            for (int l : plugIn.routedLayers()) {
                rd = Math.max(rd, plugIn.router(l).enc().rows());
                ad = Math.max(ad, plugIn.router(l).gate().rows());
            }
        }
        dRes = new float[maxT * d];
        dX = new float[maxT * d];
        dY = new float[maxT * d];
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
        dZAct = new float[maxT * rd];
        dZPre = new float[maxT * rd];
        dZNorm = new float[maxT * rd];
        dU = new float[maxT * d];
        dLogit = new float[maxT];
        dAdGate = new float[maxT * ad];
        dAdDown = new float[maxT * ad];
        dAdAct = new float[maxT * ad];
        dAdOut = new float[maxT * d];
        dH1 = new float[skipRouters == null ? 0 : maxT * d];
        dGate = new float[skipRouters == null ? 0 : maxT];
        dGateFfn = new float[skipRouters == null ? 0 : maxT];
    }

    private boolean binary(int l) {
        return skipRouters != null && skipRouters.routes(l);
    }

    private boolean binaryPerModule(int l) {
        return binary(l) && skipRouters.perModule();
    }

    /** The router deciding at a binary-routed layer's entry: the whole layer's, or the attention's per module. */
    private Site entrySite() {
        return skipRouters.perModule() ? Site.ATTENTION : Site.LAYER;
    }

    private static Param matrix(String name, Matrix m, Predicate<String> trainable) {
        return trainable.test(name) ? Param.trainableCopy(name, m, true) : Param.frozen(name, m);
    }

    private static Param vector(String name, float[] v, Predicate<String> trainable) {
        if (v == null) return null;
        boolean decay = !name.contains("norm");
        return trainable.test(name) ? Param.trainable(name, v.clone(), 1, v.length, decay) : Param.frozenVector(name, v);
    }

    private PlugIn.Router router(int l) {
        return plugIn == null ? null : plugIn.router(l);
    }

    public ModelConfig config() {
        return c;
    }

    public int maxLength() {
        return maxT;
    }

    /** Every tensor the optimizer updates (base tensors marked trainable, then the plug-in). */
    public List<Param> trainableParams() {
        List<Param> out = new ArrayList<>();
        for (Param p : allParams()) if (p.trainable() && !out.contains(p)) out.add(p);
        return out;
    }

    /** Every base and plug-in tensor, trainable or not (a tied lm_head is listed once). */
    public List<Param> allParams() {
        List<Param> out = new ArrayList<>();
        out.add(embedding);
        for (Layer l : layers) out.addAll(l.params());
        out.add(finalNorm);
        if (lmHead != embedding) out.add(lmHead);
        if (plugIn != null) out.addAll(plugIn.params());
        if (skipRouters != null) out.addAll(skipRouters.params());
        return out;
    }

    public double lmLoss() {
        return lmLoss;
    }

    public double skipLoss() {
        return skipLoss;
    }

    public double loss() {
        return lmLoss + alpha * skipLoss + (skipRouters == null ? 0 : skipRouters.regularizer());
    }

    /** Gate of token t at a routed layer in the last forward. */
    public float gate(int layer, int t) {
        return saved[layer].gate[t];
    }

    /** Routed layers the last forward skipped, summed over tokens. */
    public int skippedLayers() {
        int n = 0;
        if (plugIn == null) return 0;
        for (int l : plugIn.routedLayers()) for (int t = 0; t < T; t++) if (!saved[l].run[t]) n++;
        return n;
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
     * Runs ids[0..n) and returns loss = mean next-token cross-entropy + alpha × skip loss. The gradient of the
     * cross-entropy is left in the logits buffer for {@link #backward}.
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
        Arrays.fill(gateSum, 0, n, 0f);
        for (int l = 0; l < c.numLayers(); l++) layerForward(l);
        Ops.rmsNorm(residual[c.numLayers()], finalNorm.vector(), eps, finalNormed, n, d);
        Ops.linear(lmHead, finalNormed, logits, n);
        for (int i = 0; i < n * V; i++) if (!Float.isFinite(logits[i])) throw new IllegalArgumentException("non-finite logit at token " + i / V + " (diverged?)");
        lmLoss = Ops.crossEntropyAndBackward(logits, ids, n, V, 1f);
        double s = 0;
        for (int t = 0; t < n; t++) s += (double) gateSum[t] * gateSum[t];
        skipLoss = plugIn == null ? 0 : s / n;
        return loss();
    }

    private void layerForward(int l) {
        Layer w = layers[l];
        Saved a = saved[l];
        PlugIn.Router r = router(l);
        int n = T, d = c.hiddenSize(), kvd = c.kvDim(), ff = c.intermediateSize(), hd = c.headDim();
        float[] in = residual[l], out = residual[l + 1];
        Ops.rmsNorm(in, w.attnNorm().vector(), eps, a.x, n, d);
        if (r != null) {
            int rd = r.enc().rows();
            Ops.linear(r.enc(), a.x, a.zPre, n);
            Ops.rmsNorm(a.zPre, r.norm().vector(), eps, a.zAct, n, rd);
            Ops.tanh(a.zAct, a.zAct, n * rd);
            Ops.linear(r.dec(), a.zAct, a.u, n);
            for (int t = 0; t < n; t++) {
                float g = Ops.sigmoid(r.head().matrix().dot(0, a.u, t * d));
                a.gate[t] = g;
                a.run[t] = g > threshold;
                gateSum[t] += g;
            }
        } else if (binary(l)) {
            skipRouters.forward(entrySite(), l, a.x, n, a.gate, a.run);
        } else {
            Arrays.fill(a.gate, 0, n, 1f);
            Arrays.fill(a.run, 0, n, true);
        }
        projectHeads(w.wq(), w.bq(), w.qNorm(), a.x, a.qRaw, a.q, c.numHeads());
        projectHeads(w.wk(), w.bk(), w.kNorm(), a.x, a.kRaw, a.k, c.numKvHeads());
        Ops.linear(w.wv(), a.x, a.v, n);
        if (w.bv() != null) Ops.addBias(w.bv().vector(), a.v, n, kvd);
        Ops.attention(a.q, a.k, a.v, a.att, a.lse, n, c.numHeads(), c.numKvHeads(), hd);
        Ops.linear(w.wo(), a.att, a.attOut, n);
        if (binaryPerModule(l)) {
            SkipRouterOps.gatedAdd(in, a.attOut, a.gate, a.h1, n, d);
        } else {
            for (int t = 0; t < n; t++) {
                System.arraycopy(in, t * d, a.h1, t * d, d);
                if (a.run[t] || binary(l)) VectorOps.add(a.attOut, t * d, a.h1, t * d, d);
            }
        }
        Ops.rmsNorm(a.h1, w.ffnNorm().vector(), eps, a.y, n, d);
        if (binaryPerModule(l)) skipRouters.forward(Site.FFN, l, a.y, n, a.gateFfn, a.runFfn);
        Ops.linear(w.wGate(), a.y, a.ffGate, n);
        Ops.linear(w.wUp(), a.y, a.ffUp, n);
        Ops.swiglu(a.ffGate, a.ffUp, a.ffAct, n * ff);
        Ops.linear(w.wDown(), a.ffAct, a.mlp, n);
        if (r != null) {
            Ops.linear(r.gate(), a.y, a.adGate, n);
            Ops.linear(r.down(), a.y, a.adDown, n);
            Ops.swiglu(a.adGate, a.adDown, a.adAct, n * r.gate().rows());
            Ops.linear(r.up(), a.adAct, a.adOut, n);
        }
        if (binaryPerModule(l)) {
            SkipRouterOps.gatedAdd(a.h1, a.mlp, a.gateFfn, out, n, d);
            return;
        }
        if (binary(l)) { // h + g·(attention + mlp)
            SkipRouterOps.gatedAdd(in, a.attOut, a.gate, out, n, d);
            SkipRouterOps.gatedAdd(out, a.mlp, a.gate, out, n, d);
            return;
        }
        System.arraycopy(a.h1, 0, out, 0, n * d);
        for (int t = 0; t < n; t++) {
            if (a.run[t]) VectorOps.axpy(a.gate[t], a.mlp, t * d, out, t * d, d);
            else VectorOps.axpy(1f - a.gate[t], a.adOut, t * d, out, t * d, d);
        }
    }

    /** x -> W x (+ b) -> per-head norm -> RoPE; raw keeps the pre-norm projection when there is a norm. */
    private void projectHeads(Param w, Param bias, Param norm, float[] x, float[] raw, float[] out, int heads) {
        int n = T, width = heads * c.headDim();
        float[] pre = norm != null ? raw : out;
        Ops.linear(w, x, pre, n);
        if (bias != null) Ops.addBias(bias.vector(), pre, n, width);
        if (norm != null) Ops.rmsNorm(raw, norm.vector(), eps, out, n * heads, c.headDim());
        rope.apply(out, n, heads, false);
    }

    // ---- backward ------------------------------------------------------------------------------------------------

    /** Adds scale × d(loss)/d(param) into every trainable tensor's gradient, for the last forward. */
    public void backward(float scale) {
        int n = T, d = c.hiddenSize(), V = c.vocabSize(), L = c.numLayers();
        if (lowestBackward >= L && !lmHead.trainable() && !finalNorm.trainable()) return;
        if (scale != 1f) for (int i = 0; i < n * V; i++) logits[i] *= scale;
        Arrays.fill(dX, 0, n * d, 0f);
        Ops.linearBackward(lmHead, finalNormed, logits, dX, n);
        Arrays.fill(dRes, 0, n * d, 0f);
        Ops.rmsNormBackward(residual[L], finalNorm, eps, dX, dRes, n, d);
        for (int l = L - 1; l >= Math.max(0, lowestBackward); l--) layerBackward(l, scale);
        if (embedding.trainable()) {
            for (int t = 0; t < n; t++) VectorOps.add(dRes, t * d, embedding.grad(), ids[t] * d, d);
        }
    }

    /** On entry dRes holds d(loss)/d(layer output); on exit d(loss)/d(layer input). */
    private void layerBackward(int l, float scale) {
        Layer w = layers[l];
        Saved a = saved[l];
        PlugIn.Router r = router(l);
        int n = T, d = c.hiddenSize(), qd = c.queryDim(), kvd = c.kvDim(), ff = c.intermediateSize(), hd = c.headDim();
        boolean inputGrad = l > lowestBackward; // a layer or the embedding below needs d/d(input)

        // out = h1 + run·g·mlp + (1−run)·(1−g)·adapter
        Arrays.fill(dMlp, 0, n * d, 0f);
        if (binaryPerModule(l)) { // out = h1 + g_f * mlp: dRes stays d/d(h1) through the identity
            Arrays.fill(dGateFfn, 0, n, 0f);
            SkipRouterOps.gatedAddBackward(a.mlp, a.gateFfn, dRes, dMlp, dGateFfn, n, d);
        } else if (binary(l)) { // out = in + gate * (attention + mlp): dRes stays d/d(in) through the identity
            Arrays.fill(dAttOut, 0, n * d, 0f);
            Arrays.fill(dGate, 0, n, 0f);
            SkipRouterOps.gatedAddBackward(a.attOut, a.gate, dRes, dAttOut, dGate, n, d);
            SkipRouterOps.gatedAddBackward(a.mlp, a.gate, dRes, dMlp, dGate, n, d);
        } else {
            for (int t = 0; t < n; t++) if (a.run[t]) VectorOps.axpy(a.gate[t], dRes, t * d, dMlp, t * d, d);
        }
        if (r != null) {
            Arrays.fill(dAdOut, 0, n * d, 0f);
            for (int t = 0; t < n; t++) {
                float dg = a.run[t] ? VectorOps.dot(dRes, t * d, a.mlp, t * d, d) : -VectorOps.dot(dRes, t * d, a.adOut, t * d, d);
                dg += scale * alpha * 2f * gateSum[t] / n; // skip loss: (1/T) Σ_t (Σ_l g)²
                if (!a.run[t]) VectorOps.axpy(1f - a.gate[t], dRes, t * d, dAdOut, t * d, d);
                dLogit[t] = Ops.sigmoidBackward(a.gate[t], dg);
            }
        }
        Arrays.fill(dY, 0, n * d, 0f);
        Arrays.fill(dFfAct, 0, n * ff, 0f);
        Ops.linearBackward(w.wDown(), a.ffAct, dMlp, dFfAct, n);
        Arrays.fill(dFfGate, 0, n * ff, 0f);
        Arrays.fill(dFfUp, 0, n * ff, 0f);
        Ops.swigluBackward(a.ffGate, a.ffUp, dFfAct, dFfGate, dFfUp, n * ff);
        Ops.linearBackward(w.wGate(), a.y, dFfGate, dY, n);
        Ops.linearBackward(w.wUp(), a.y, dFfUp, dY, n);
        if (r != null) {
            int ad = r.gate().rows();
            Arrays.fill(dAdAct, 0, n * ad, 0f);
            Ops.linearBackward(r.up(), a.adAct, dAdOut, dAdAct, n);
            Arrays.fill(dAdGate, 0, n * ad, 0f);
            Arrays.fill(dAdDown, 0, n * ad, 0f);
            Ops.swigluBackward(a.adGate, a.adDown, dAdAct, dAdGate, dAdDown, n * ad);
            Ops.linearBackward(r.gate(), a.y, dAdGate, dY, n);
            Ops.linearBackward(r.down(), a.y, dAdDown, dY, n);
        }
        if (binaryPerModule(l)) { // the FFN router reads y; h1 = in + g_a * attention
            skipRouters.backward(Site.FFN, l, a.y, dGateFfn, dY, n, scale);
            Arrays.fill(dH1, 0, n * d, 0f);
            Ops.rmsNormBackward(a.h1, w.ffnNorm(), eps, dY, dH1, n, d);
            VectorOps.add(dH1, 0, dRes, 0, n * d); // dRes is now d/d(h1), and through the identity d/d(in)
            Arrays.fill(dAttOut, 0, n * d, 0f);
            Arrays.fill(dGate, 0, n, 0f);
            SkipRouterOps.gatedAddBackward(a.attOut, a.gate, dRes, dAttOut, dGate, n, d);
        } else if (binary(l)) { // h1 = in + attention feeds the FFN of every token
            Arrays.fill(dH1, 0, n * d, 0f);
            Ops.rmsNormBackward(a.h1, w.ffnNorm(), eps, dY, dH1, n, d);
            VectorOps.add(dH1, 0, dRes, 0, n * d);
            VectorOps.add(dH1, 0, dAttOut, 0, n * d);
        } else {
            Ops.rmsNormBackward(a.h1, w.ffnNorm(), eps, dY, dRes, n, d); // dRes is now d/d(h1)
            // h1 = in + run·attention
            for (int t = 0; t < n; t++) {
                if (a.run[t]) System.arraycopy(dRes, t * d, dAttOut, t * d, d);
                else Arrays.fill(dAttOut, t * d, (t + 1) * d, 0f);
            }
        }
        Arrays.fill(dAtt, 0, n * qd, 0f);
        Ops.linearBackward(w.wo(), a.att, dAttOut, dAtt, n);
        Arrays.fill(dQ, 0, n * qd, 0f);
        Arrays.fill(dK, 0, n * kvd, 0f);
        Arrays.fill(dV, 0, n * kvd, 0f);
        Ops.attentionBackward(a.q, a.k, a.v, a.att, a.lse, dAtt, dQ, dK, dV, n, c.numHeads(), c.numKvHeads(), hd);
        Arrays.fill(dX, 0, n * d, 0f);
        float[] dx = inputGrad || w.attnNorm().trainable() ? dX : null;
        headsBackward(w.wq(), w.bq(), w.qNorm(), a.x, a.qRaw, dQ, dQRaw, dx, c.numHeads());
        headsBackward(w.wk(), w.bk(), w.kNorm(), a.x, a.kRaw, dK, dKRaw, dx, c.numKvHeads());
        if (w.bv() != null) Ops.addBiasBackward(w.bv(), dV, n);
        Ops.linearBackward(w.wv(), a.x, dV, dx, n);
        if (r != null) routerBackward(r, a, dx);
        if (binary(l)) skipRouters.backward(entrySite(), l, a.x, dGate, dx, n, scale);
        if (dx != null) Ops.rmsNormBackward(residual[l], w.attnNorm(), eps, dX, dRes, n, d);
    }

    /** Backward of {@link #projectHeads}: un-rotate, norm backward, bias, then the projection. */
    private void headsBackward(Param w, Param bias, Param norm, float[] x, float[] raw, float[] dOut, float[] dRaw, float[] dx, int heads) {
        int n = T, width = heads * c.headDim();
        rope.apply(dOut, n, heads, true);
        float[] dPre = dOut;
        if (norm != null) {
            Arrays.fill(dRaw, 0, n * width, 0f);
            Ops.rmsNormBackward(raw, norm, eps, dOut, dRaw, n * heads, c.headDim());
            dPre = dRaw;
        }
        if (bias != null) Ops.addBiasBackward(bias, dPre, n);
        Ops.linearBackward(w, x, dPre, dx, n);
    }

    /** logit = head · dec(tanh(norm(enc x))): from dLogit down to dx. */
    private void routerBackward(PlugIn.Router r, Saved a, float[] dx) {
        int n = T, d = c.hiddenSize(), rd = r.enc().rows();
        Arrays.fill(dU, 0, n * d, 0f);
        Ops.linearBackward(r.head(), a.u, dLogit, dU, n);
        Arrays.fill(dZAct, 0, n * rd, 0f);
        Ops.linearBackward(r.dec(), a.zAct, dU, dZAct, n);
        Arrays.fill(dZNorm, 0, n * rd, 0f);
        Ops.tanhBackward(a.zAct, dZAct, dZNorm, n * rd);
        Arrays.fill(dZPre, 0, n * rd, 0f);
        Ops.rmsNormBackward(a.zPre, r.norm(), eps, dZNorm, dZPre, n, rd);
        Ops.linearBackward(r.enc(), a.x, dZPre, dx, n);
    }
}
