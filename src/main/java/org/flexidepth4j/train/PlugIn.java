package org.flexidepth4j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.skip.FlexiDepth;
import org.flexidepth4j.skip.FlexiDepthFiles;
import org.flexidepth4j.skip.FlexiDepthTensor;
import org.flexidepth4j.tensor.VectorOps;

/**
 * FlexiDepth as training sees it (METHODS.md section 1): a router and an adapter per routed layer as trainable
 * tensors in the released naming, and its share of each routed layer. Router: g = sigmoid(head(dec(tanh(norm(enc
 * x))))), run = g > threshold (a hard decision, no gradient through it); h1 = h + run·attention; out = h1 + g·FFN(y)
 * when run, h1 + (1 − g)·Adapter(y) when skipped. Its loss term is alpha × the skip loss (1/T)·Σ_t (Σ_l g_t^l)².
 */
public final class PlugIn implements TrainableSkip {
    /** Std of the normal random init of every router/adapter matrix (router_norm starts at ones). */
    public static final double INIT_STD = 0.02;

    private final ModelConfig config;
    /** tensors[l][FlexiDepthTensor.ordinal()]; null for layers that are not routed. */
    private final Param[][] tensors;
    private final int routerFactor, projFactor;
    private final float alpha, threshold;
    private final Layer[] layers;
    private final Scratch s = new Scratch();

    private PlugIn(ModelConfig config, Param[][] tensors, int routerFactor, int projFactor, float alpha, float threshold) {
        this.config = config;
        this.tensors = tensors;
        this.routerFactor = routerFactor;
        this.projFactor = projFactor;
        this.alpha = alpha;
        this.threshold = threshold;
        layers = new Layer[tensors.length];
        for (int l = 0; l < layers.length; l++) layers[l] = tensors[l] == null ? Layer.DENSE : new Routed(tensors[l]);
    }

    /** A fresh plug-in on {@code layers} (FlexiDepth's random init, default reduction factors); alpha 0, threshold 0.5. */
    public static PlugIn init(ModelConfig c, int[] layers, long seed) {
        int factor = FlexiDepth.DEFAULT_REDUCTION_FACTOR;
        return from(FlexiDepthTensor.randomInit(c, layers, factor, factor, seed, INIT_STD));
    }

    /** A plug-in without routed layers: the dense model, with FlexiDepth's metrics (nothing skipped, skip loss 0). */
    public static PlugIn none(ModelConfig c) {
        int factor = FlexiDepth.DEFAULT_REDUCTION_FACTOR;
        return new PlugIn(c, new Param[c.numLayers()][], factor, factor, 0f, (float) FlexiDepth.DEFAULT_THRESHOLD);
    }

    /** Trainable float32 copies of a loaded plug-in (e.g. {@code model.defaultPolicy()} of a FlexiDepth checkpoint). */
    public static PlugIn from(FlexiDepth fd) {
        Param[][] tensors = new Param[fd.config().numLayers()][];
        for (int l : fd.routedLayers()) {
            tensors[l] = new Param[FlexiDepthTensor.values().length];
            for (FlexiDepthTensor t : FlexiDepthTensor.values()) tensors[l][t.ordinal()] = Param.trainableCopy(t.name(l), t.of(fd, l), !t.isVector());
        }
        return new PlugIn(fd.config(), tensors, fd.routerReductionFactor(), fd.projReductionFactor(), 0f, (float) FlexiDepth.DEFAULT_THRESHOLD);
    }

    /** The same tensors with the skip loss weighted by {@code alpha}. */
    public PlugIn withSkipLoss(float alpha) {
        return new PlugIn(config, tensors, routerFactor, projFactor, alpha, threshold);
    }

    /** The same tensors running a token iff its gate > {@code threshold}. */
    public PlugIn withThreshold(float threshold) {
        return new PlugIn(config, tensors, routerFactor, projFactor, alpha, threshold);
    }

    public int[] routedLayers() {
        return java.util.stream.IntStream.range(0, tensors.length).filter(l -> tensors[l] != null).toArray();
    }

    @Override
    public Layer layer(int l) {
        return layers[l];
    }

    @Override
    public List<Param> params() {
        List<Param> out = new ArrayList<>();
        for (Param[] t : tensors) if (t != null) out.addAll(List.of(t));
        return out;
    }

    @Override
    public void startForward(int T) {
        int rd = 0, ad = 0;
        for (Layer layer : layers) {
            if (layer instanceof Routed r) {
                r.ensure(T);
                rd = Math.max(rd, r.enc.rows());
                ad = Math.max(ad, r.adGate.rows());
            }
        }
        s.ensure(T, config.hiddenSize(), rd, ad);
        Arrays.fill(s.gateSum, 0, T, 0f);
        s.T = T;
    }

    /** (1/T)·Σ_t (Σ over routed layers of g)² of the last forward. */
    public double skipLoss() {
        double sum = 0;
        for (int t = 0; t < s.T; t++) sum += (double) s.gateSum[t] * s.gateSum[t];
        return sum / s.T;
    }

    @Override
    public double loss() {
        return alpha * skipLoss();
    }

    /** Gate of token t at a routed layer in the last forward. */
    public float gate(int layer, int t) {
        return ((Routed) layers[layer]).gate[t];
    }

    /** Routed layers the last forward skipped, summed over tokens. */
    public int skippedLayers() {
        int n = 0;
        for (int l : routedLayers()) for (int t = 0; t < s.T; t++) if (!((Routed) layers[l]).run[t]) n++;
        return n;
    }

    /** Writes the plug-in as the skip package does: float32, released naming, factors and routed layers in the metadata. */
    public void save(Path file) {
        FlexiDepthFiles.save(FlexiDepthTensor.assemble(config, routedLayers(), routerFactor, projFactor, (t, l) -> tensors[l][t.ordinal()].matrix()), file);
    }

    /** Per-token gate sums, and the backward scratch the routed layers share (one layer's backward at a time). */
    private static final class Scratch {
        int T, capacity;
        float[] gateSum, dLogit, dU, dZAct, dZNorm, dZPre, dAdOut, dAdAct, dAdGate, dAdDown;

        void ensure(int T, int d, int rd, int ad) {
            if (T <= capacity) return;
            capacity = T;
            gateSum = new float[T];
            dLogit = new float[T];
            dU = new float[T * d];
            dAdOut = new float[T * d];
            dZAct = new float[T * rd];
            dZNorm = new float[T * rd];
            dZPre = new float[T * rd];
            dAdAct = new float[T * ad];
            dAdGate = new float[T * ad];
            dAdDown = new float[T * ad];
        }
    }

    /** One routed layer: its tensors and what its last forward saved for the backward. */
    private final class Routed implements Layer {
        final Param enc, norm, dec, head, adGate, adDown, adUp;
        float[] zPre, zAct, u, logit, gate, gateIn, down, act, adapterOut;
        boolean[] run;

        Routed(Param[] t) {
            enc = t[FlexiDepthTensor.ROUTER_ENC.ordinal()];
            norm = t[FlexiDepthTensor.ROUTER_NORM.ordinal()];
            dec = t[FlexiDepthTensor.ROUTER_DEC.ordinal()];
            head = t[FlexiDepthTensor.ROUTER_HEAD.ordinal()];
            adGate = t[FlexiDepthTensor.ADAPTER_GATE.ordinal()];
            adDown = t[FlexiDepthTensor.ADAPTER_DOWN.ordinal()];
            adUp = t[FlexiDepthTensor.ADAPTER_UP.ordinal()];
        }

        @Override
        public boolean trains() {
            return true;
        }

        void ensure(int T) {
            int d = config.hiddenSize(), rd = enc.rows(), ad = adGate.rows();
            if (gate == null || gate.length < T) {
                zPre = new float[T * rd];
                zAct = new float[T * rd];
                u = new float[T * d];
                logit = new float[T];
                gate = new float[T];
                run = new boolean[T];
                gateIn = new float[T * ad];
                down = new float[T * ad];
                act = new float[T * ad];
                adapterOut = new float[T * d];
            }
        }

        @Override
        public void gate(float[] x, int T) {
            int rd = enc.rows();
            Ops.linear(enc, x, zPre, T);
            Ops.rmsNorm(zPre, norm.vector(), config.rmsNormEps(), zAct, T, rd);
            Ops.tanh(zAct, zAct, T * rd);
            Ops.linear(dec, zAct, u, T);
            Ops.linear(head, u, logit, T);
            for (int t = 0; t < T; t++) {
                float g = Ops.sigmoid(logit[t]);
                gate[t] = g;
                run[t] = g > threshold;
                s.gateSum[t] += g;
            }
        }

        /** logit = head · dec(tanh(norm(enc x))): from dLogit down to dx. */
        @Override
        public void gateBackward(float[] x, float[] dx, int T, float scale) {
            int d = config.hiddenSize(), rd = enc.rows();
            Arrays.fill(s.dU, 0, T * d, 0f);
            Ops.linearBackward(head, u, s.dLogit, s.dU, T);
            Arrays.fill(s.dZAct, 0, T * rd, 0f);
            Ops.linearBackward(dec, zAct, s.dU, s.dZAct, T);
            Arrays.fill(s.dZNorm, 0, T * rd, 0f);
            Ops.tanhBackward(zAct, s.dZAct, s.dZNorm, T * rd);
            Arrays.fill(s.dZPre, 0, T * rd, 0f);
            Ops.rmsNormBackward(zPre, norm, config.rmsNormEps(), s.dZNorm, s.dZPre, T, rd);
            Ops.linearBackward(enc, x, s.dZPre, dx, T);
        }

        /** Attention is masked, not scaled: h1 = h + run·attention. */
        @Override
        public void mixAttention(float[] h, float[] attention, float[] h1, int T, int d) {
            System.arraycopy(h, 0, h1, 0, T * d);
            for (int t = 0; t < T; t++) if (run[t]) VectorOps.add(attention, t * d, h1, t * d, d);
        }

        @Override
        public void mixAttentionBackward(float[] attention, float[] dh, float[] dh1, float[] dAttention, int T, int d) {
            VectorOps.add(dh1, 0, dh, 0, T * d);
            for (int t = 0; t < T; t++) if (run[t]) VectorOps.add(dh, t * d, dAttention, t * d, d);
        }

        /** Adapter(y) = up(silu(gate(y)) · down(y)), for every token (only the skipped ones use it). */
        @Override
        public void readFeedForwardInput(float[] y, int T) {
            Ops.linear(adGate, y, gateIn, T);
            Ops.linear(adDown, y, down, T);
            Ops.swiglu(gateIn, down, act, T * adGate.rows());
            Ops.linear(adUp, act, adapterOut, T);
        }

        @Override
        public void readFeedForwardInputBackward(float[] y, float[] dy, int T, float scale) {
            int ad = adGate.rows();
            Arrays.fill(s.dAdAct, 0, T * ad, 0f);
            Ops.linearBackward(adUp, act, s.dAdOut, s.dAdAct, T);
            Arrays.fill(s.dAdGate, 0, T * ad, 0f);
            Arrays.fill(s.dAdDown, 0, T * ad, 0f);
            Ops.swigluBackward(gateIn, down, s.dAdAct, s.dAdGate, s.dAdDown, T * ad);
            Ops.linearBackward(adGate, y, s.dAdGate, dy, T);
            Ops.linearBackward(adDown, y, s.dAdDown, dy, T);
        }

        /** out = h1 + g·FFN (run) or h1 + (1 − g)·Adapter (skipped). */
        @Override
        public void mixOutput(float[] h, float[] h1, float[] attention, float[] ffn, float[] out, int T, int d) {
            System.arraycopy(h1, 0, out, 0, T * d);
            for (int t = 0; t < T; t++) {
                if (run[t]) VectorOps.axpy(gate[t], ffn, t * d, out, t * d, d);
                else VectorOps.axpy(1f - gate[t], adapterOut, t * d, out, t * d, d);
            }
        }

        /** dg from both branches and from the skip loss (1/T)·Σ_t (Σ_l g)², then through the sigmoid to dLogit. */
        @Override
        public void mixOutputBackward(float[] dOut, float[] attention, float[] ffn, float[] dFfn, float[] dAttention, int T, int d, float scale) {
            for (int t = 0; t < T; t++) if (run[t]) VectorOps.axpy(gate[t], dOut, t * d, dFfn, t * d, d);
            Arrays.fill(s.dAdOut, 0, T * d, 0f);
            for (int t = 0; t < T; t++) {
                float dg = run[t] ? VectorOps.dot(dOut, t * d, ffn, t * d, d) : -VectorOps.dot(dOut, t * d, adapterOut, t * d, d);
                dg += scale * alpha * 2f * s.gateSum[t] / T;
                if (!run[t]) VectorOps.axpy(1f - gate[t], dOut, t * d, s.dAdOut, t * d, d);
                s.dLogit[t] = Ops.sigmoidBackward(gate[t], dg);
            }
        }
    }
}
