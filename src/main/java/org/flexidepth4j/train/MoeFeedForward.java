package org.flexidepth4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;
import org.flexidepth4j.load.WeightsLoader;
import org.flexidepth4j.model.Experts;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.MoeConfig;
import org.flexidepth4j.tensor.Matrix;
import org.flexidepth4j.tensor.VectorOps;

/**
 * One layer's mixture-of-experts FFN for training: the forward of inference's ({@link MoeConfig#route}: softmax,
 * top-k, optional renormalisation; each expert run once over the tokens that chose it; Qwen2-MoE's shared expert
 * behind a sigmoid gate), keeping what its backward needs, and that backward: through the chosen experts' SwiGLU,
 * the weighting, the renormalisation and the softmax to the router, and through the shared expert and its gate. The
 * top-k choice itself is piecewise constant and has no gradient. Tensors are trainable or frozen by HF name.
 */
final class MoeFeedForward {
    private final MoeConfig moe;
    private final int d;
    private final Param router, sharedRouter, sharedGate, sharedUp, sharedDown;
    private final Param[] gate, up, down;

    // saved by the forward: per token, per chosen slot (pair p = t * perToken + j)
    private final float[] logits, probs, weights, pairGate, pairUp, pairAct, pairOut;
    private final int[] chosen;
    private final float[] sharedIn, sharedGateOut, sharedUpOut, sharedAct, sharedOut, sharedSigmoid;
    // one expert's tokens, gathered
    private final int[] groupPairs;
    private final float[] groupIn, groupGate, groupUp, groupAct, groupOut, groupDx, dWeights, dLogits, routeProbs;
    private final float[] dAct, dGate, dUp, dShared;

    /** Layer {@code layer}'s experts {@code x}, tensors named as its HF checkpoint names them. */
    MoeFeedForward(ModelConfig c, int layer, Experts x, Predicate<String> trainable, int maxT) {
        this.moe = c.moe();
        this.d = c.hiddenSize();
        int n = moe.experts(), k = moe.expertsPerToken(), ff = moe.expertIntermediateSize(), pairs = maxT * k;
        String prefix = "model.layers." + layer + ".";
        router = matrix(WeightsLoader.routerName(c, layer), x.router(), trainable);
        gate = new Param[n];
        up = new Param[n];
        down = new Param[n];
        for (int e = 0; e < n; e++) {
            gate[e] = matrix(WeightsLoader.expertName(c, layer, e, "gate"), x.gate()[e], trainable);
            up[e] = matrix(WeightsLoader.expertName(c, layer, e, "up"), x.up()[e], trainable);
            down[e] = matrix(WeightsLoader.expertName(c, layer, e, "down"), x.down()[e], trainable);
        }
        logits = new float[maxT * n];
        probs = new float[maxT * n];
        dLogits = new float[maxT * n];
        weights = new float[pairs];
        dWeights = new float[pairs];
        chosen = new int[pairs];
        pairGate = new float[pairs * ff];
        pairUp = new float[pairs * ff];
        pairAct = new float[pairs * ff];
        pairOut = new float[pairs * d];
        groupPairs = new int[pairs];
        int wide = moe.widestIntermediate();
        groupIn = new float[maxT * d];
        groupDx = new float[maxT * d];
        groupOut = new float[maxT * d];
        groupGate = new float[maxT * wide];
        groupUp = new float[maxT * wide];
        groupAct = new float[maxT * wide];
        dAct = new float[maxT * wide];
        dGate = new float[maxT * wide];
        dUp = new float[maxT * wide];
        dShared = new float[maxT * d];
        routeProbs = new float[n];
        boolean shared = moe.hasSharedExpert();
        int sff = moe.sharedIntermediateSize();
        String s = prefix + "mlp.shared_expert.";
        sharedRouter = !shared ? null : trainable.test(prefix + "mlp.shared_expert_gate.weight")
                ? Param.trainable(prefix + "mlp.shared_expert_gate.weight", x.sharedRouter().clone(), 1, d, true)
                : Param.frozenVector(prefix + "mlp.shared_expert_gate.weight", x.sharedRouter());
        sharedGate = shared ? matrix(s + "gate_proj.weight", x.sharedGate(), trainable) : null;
        sharedUp = shared ? matrix(s + "up_proj.weight", x.sharedUp(), trainable) : null;
        sharedDown = shared ? matrix(s + "down_proj.weight", x.sharedDown(), trainable) : null;
        sharedIn = shared ? new float[maxT * d] : null;
        sharedGateOut = shared ? new float[maxT * sff] : null;
        sharedUpOut = shared ? new float[maxT * sff] : null;
        sharedAct = shared ? new float[maxT * sff] : null;
        sharedOut = shared ? new float[maxT * d] : null;
        sharedSigmoid = shared ? new float[maxT] : null;
    }

    private static Param matrix(String name, Matrix m, Predicate<String> trainable) {
        return trainable.test(name) ? Param.trainableCopy(name, m, true) : Param.frozen(name, m);
    }

    List<Param> params() {
        List<Param> out = new ArrayList<>();
        out.add(router);
        for (int e = 0; e < gate.length; e++) out.addAll(List.of(gate[e], up[e], down[e]));
        if (sharedGate != null) out.addAll(List.of(sharedRouter, sharedGate, sharedUp, sharedDown));
        return out;
    }

    /** out[T, d] = the mixture of y[T, d]. */
    void forward(float[] y, float[] out, int T) {
        int n = moe.experts(), k = moe.expertsPerToken(), ff = moe.expertIntermediateSize();
        Ops.linear(router, y, logits, T);
        for (int t = 0; t < T; t++) {
            moe.route(logits, t * n, routeProbs, chosen, weights, t * k);
            System.arraycopy(routeProbs, 0, probs, t * n, n);
        }
        for (int e = 0; e < n; e++) {
            int m = gather(e, T, y, groupIn, d);
            if (m == 0) continue;
            Ops.linear(gate[e], groupIn, groupGate, m);
            Ops.linear(up[e], groupIn, groupUp, m);
            Ops.swiglu(groupGate, groupUp, groupAct, m * ff);
            Ops.linear(down[e], groupAct, groupOut, m);
            for (int i = 0; i < m; i++) {
                int p = groupPairs[i];
                System.arraycopy(groupGate, i * ff, pairGate, p * ff, ff);
                System.arraycopy(groupUp, i * ff, pairUp, p * ff, ff);
                System.arraycopy(groupAct, i * ff, pairAct, p * ff, ff);
                System.arraycopy(groupOut, i * d, pairOut, p * d, d);
            }
        }
        Arrays.fill(out, 0, T * d, 0f);
        for (int p = 0; p < T * k; p++) VectorOps.axpy(weights[p], pairOut, p * d, out, (p / k) * d, d);
        if (sharedGate == null) return;
        int sff = moe.sharedIntermediateSize();
        Ops.linear(sharedGate, y, sharedGateOut, T);
        Ops.linear(sharedUp, y, sharedUpOut, T);
        Ops.swiglu(sharedGateOut, sharedUpOut, sharedAct, T * sff);
        Ops.linear(sharedDown, sharedAct, sharedOut, T);
        for (int t = 0; t < T; t++) {
            sharedSigmoid[t] = Ops.sigmoid(VectorOps.dot(sharedRouter.vector(), 0, y, t * d, d));
            VectorOps.axpy(sharedSigmoid[t], sharedOut, t * d, out, t * d, d);
        }
    }

    /** dy += d(loss)/dy for dOut = d(loss)/d(out) of the last forward; trainable tensors gather their gradients. */
    void backward(float[] y, float[] dOut, float[] dy, int T) {
        int n = moe.experts(), k = moe.expertsPerToken(), ff = moe.expertIntermediateSize();
        for (int p = 0; p < T * k; p++) dWeights[p] = VectorOps.dot(dOut, (p / k) * d, pairOut, p * d, d);
        for (int e = 0; e < n; e++) {
            int m = gather(e, T, y, groupIn, d);
            if (m == 0) continue;
            for (int i = 0; i < m; i++) {
                int p = groupPairs[i];
                Arrays.fill(groupOut, i * d, (i + 1) * d, 0f);
                VectorOps.axpy(weights[p], dOut, (p / k) * d, groupOut, i * d, d);
                System.arraycopy(pairGate, p * ff, groupGate, i * ff, ff);
                System.arraycopy(pairUp, p * ff, groupUp, i * ff, ff);
                System.arraycopy(pairAct, p * ff, groupAct, i * ff, ff);
            }
            Arrays.fill(dAct, 0, m * ff, 0f);
            Arrays.fill(dGate, 0, m * ff, 0f);
            Arrays.fill(dUp, 0, m * ff, 0f);
            Ops.linearBackward(down[e], groupAct, groupOut, dAct, m);
            Ops.swigluBackward(groupGate, groupUp, dAct, dGate, dUp, m * ff);
            Arrays.fill(groupDx, 0, m * d, 0f);
            Ops.linearBackward(gate[e], groupIn, dGate, groupDx, m);
            Ops.linearBackward(up[e], groupIn, dUp, groupDx, m);
            for (int i = 0; i < m; i++) VectorOps.add(groupDx, i * d, dy, (groupPairs[i] / k) * d, d);
        }
        for (int t = 0; t < T; t++) routerBackward(t);
        Ops.linearBackward(router, y, dLogits, dy, T);
        if (sharedGate == null) return;
        int sff = moe.sharedIntermediateSize();
        Arrays.fill(dShared, 0, T * d, 0f);
        Arrays.fill(dAct, 0, T * sff, 0f);
        Arrays.fill(dGate, 0, T * sff, 0f);
        Arrays.fill(dUp, 0, T * sff, 0f);
        for (int t = 0; t < T; t++) {
            float s = sharedSigmoid[t];
            VectorOps.axpy(s, dOut, t * d, dShared, t * d, d);
            float dLogit = Ops.sigmoidBackward(s, VectorOps.dot(dOut, t * d, sharedOut, t * d, d));
            VectorOps.axpy(dLogit, sharedRouter.vector(), 0, dy, t * d, d);
            if (sharedRouter.trainable()) VectorOps.axpy(dLogit, y, t * d, sharedRouter.grad(), 0, d);
        }
        Ops.linearBackward(sharedDown, sharedAct, dShared, dAct, T);
        Ops.swigluBackward(sharedGateOut, sharedUpOut, dAct, dGate, dUp, T * sff);
        Ops.linearBackward(sharedGate, y, dGate, dy, T);
        Ops.linearBackward(sharedUp, y, dUp, dy, T);
    }

    /**
     * d(loss)/d(router logits) of token t from d(loss)/d(weights): through the renormalisation w_j = p_j / S (dp_j =
     * (dw_j - Σ_i dw_i w_i) / S) when the config has it, then the softmax (dz_e = p_e (dp_e - Σ_f p_f dp_f)).
     */
    private void routerBackward(int t) {
        int n = moe.experts(), k = moe.expertsPerToken();
        float[] dProbs = new float[n];
        float chosenSum = 0, weighted = 0;
        for (int j = 0; j < k; j++) {
            chosenSum += probs[t * n + chosen[t * k + j]];
            weighted += dWeights[t * k + j] * weights[t * k + j];
        }
        for (int j = 0; j < k; j++) {
            float dw = dWeights[t * k + j];
            dProbs[chosen[t * k + j]] = moe.normalizeTopK() ? (dw - weighted) / chosenSum : dw;
        }
        float dot = 0;
        for (int e = 0; e < n; e++) dot += probs[t * n + e] * dProbs[e];
        for (int e = 0; e < n; e++) dLogits[t * n + e] = probs[t * n + e] * (dProbs[e] - dot);
    }

    /** Gathers the rows of the tokens that chose expert e (pair order) into dst; returns how many. */
    private int gather(int e, int T, float[] src, float[] dst, int width) {
        int k = moe.expertsPerToken(), m = 0;
        for (int p = 0; p < T * k; p++) {
            if (chosen[p] != e) continue;
            groupPairs[m] = p;
            System.arraycopy(src, (p / k) * width, dst, m * width, width);
            m++;
        }
        return m;
    }
}
