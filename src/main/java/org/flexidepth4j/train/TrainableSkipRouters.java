package org.flexidepth4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.flexidepth4j.io.SafeTensorsWriter;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.skip.BinaryRouterConfig;
import org.flexidepth4j.skip.BinaryRouters;
import org.flexidepth4j.tensor.Matrix;

/**
 * The binary skip routers of Learning to Skip as {@link TrainableDecoder} trains them: per routed layer a [2, d]
 * router on the layer's normalised input, straight-through Gumbel-softmax gates ({@link SkipRouterOps}) and the
 * density regulariser beta * sum_l (r_l - P)^2, r_l = mean over the sequence's tokens of the soft execute
 * probability (differentiable, unlike the hard fraction it estimates). Noise comes from its own seeded stream.
 */
public final class TrainableSkipRouters {
    private final ModelConfig config;
    private final BinaryRouterConfig settings;
    private final Param[] routers;
    private final float[][] logits, noise, soft;
    private final float[] dSoft, dLogits;
    private final double[] density;
    private final double[] executed;
    private SplittableRandom rng = new SplittableRandom(0);
    private float noiseScale;

    private TrainableSkipRouters(ModelConfig config, BinaryRouterConfig settings, Param[] routers, int maxT) {
        for (int l : settings.layers()) if (l >= config.numLayers()) throw new IllegalArgumentException("routed layer " + l + " is outside 0.." + (config.numLayers() - 1));
        this.config = config;
        this.settings = settings;
        this.routers = routers;
        int L = config.numLayers();
        logits = new float[L][];
        noise = new float[L][];
        soft = new float[L][];
        for (int l : settings.layers()) {
            logits[l] = new float[2 * maxT];
            noise[l] = new float[2 * maxT];
            soft[l] = new float[maxT];
        }
        dSoft = new float[maxT];
        dLogits = new float[2 * maxT];
        density = new double[L];
        executed = new double[L];
        this.noiseScale = (float) settings.noiseScale();
    }

    /** Fresh routers, all zero: P(execute) = 0.5 for every token before training. */
    public static TrainableSkipRouters init(ModelConfig c, BinaryRouterConfig settings, int maxT) {
        Param[] routers = new Param[c.numLayers()];
        for (int l : settings.layers()) routers[l] = Param.trainable(BinaryRouters.tensorName(l), new float[2 * c.hiddenSize()], 2, c.hiddenSize(), false);
        return new TrainableSkipRouters(c, settings, routers, maxT);
    }

    /** Trainable copies of a loaded policy's routers (continued training). */
    public static TrainableSkipRouters of(BinaryRouters policy, ModelConfig c, int maxT) {
        Param[] routers = new Param[c.numLayers()];
        for (int l : policy.settings().layers()) routers[l] = Param.trainableCopy(BinaryRouters.tensorName(l), policy.router(l), false);
        return new TrainableSkipRouters(c, policy.settings(), routers, maxT);
    }

    public BinaryRouterConfig settings() {
        return settings;
    }

    public boolean routes(int layer) {
        return routers[layer] != null;
    }

    public List<Param> params() {
        List<Param> out = new ArrayList<>();
        for (Param p : routers) if (p != null) out.add(p);
        return out;
    }

    /** Noise multiplier for the next forwards, and a fresh noise stream (same stream => same noise). */
    public void setNoise(double scale, long stream) {
        noiseScale = (float) scale;
        rng = new SplittableRandom(stream);
    }

    /** Gates of layer l for x [T, d] (its input_layernorm output): hard or soft per the settings; run = gate > 0.5. */
    void forward(int l, float[] x, int T, float[] gate, boolean[] run) {
        Ops.linear(routers[l], x, logits[l], T);
        SkipRouterOps.gumbelNoise(rng, noiseScale, noise[l], 2 * T);
        SkipRouterOps.gumbelGate(logits[l], noise[l], (float) settings.temperature(), settings.straightThrough(), soft[l], gate, T);
        int n = 0;
        for (int t = 0; t < T; t++) if (run[t] = gate[t] > 0.5f) n++;
        executed[l] = (double) n / T;
        density[l] = SkipRouterOps.density(soft[l], T, (float) settings.targetDensity(), (float) settings.beta());
    }

    /** dGate: d(loss)/d(gate) of layer l; adds scale × the regulariser's gradient, the router gradient and dx. */
    void backward(int l, float[] x, float[] dGate, float[] dx, int T, float scale) {
        System.arraycopy(dGate, 0, dSoft, 0, T);
        SkipRouterOps.densityBackward(soft[l], T, (float) settings.targetDensity(), (float) settings.beta(), scale, dSoft);
        Arrays.fill(dLogits, 0, 2 * T, 0f);
        SkipRouterOps.gumbelGateBackward(soft[l], dSoft, (float) settings.temperature(), dLogits, T);
        Ops.linearBackward(routers[l], x, dLogits, dx, T);
    }

    /** beta * sum_l (r_l - P)^2 of the last forward. */
    public double regularizer() {
        double s = 0;
        for (int l : settings.layers()) s += density[l];
        return s;
    }

    /** Fraction of the last forward's tokens whose gate executed layer l. */
    public double executedFraction(int layer) {
        return executed[layer];
    }

    /** Mean over routed layers of {@link #executedFraction}. */
    public double meanExecutedFraction() {
        double s = 0;
        for (int l : settings.layers()) s += executed[l];
        return settings.layers().length == 0 ? 1 : s / settings.layers().length;
    }

    /** Adds the routers to a model file being written. */
    public void addTo(SafeTensorsWriter w) {
        for (Param p : params()) w.addF32(p.name(), p.value(), 2, config.hiddenSize());
    }

    /** The inference policy over the current values (shared, so it sees later updates). */
    public BinaryRouters policy() {
        Matrix[] m = new Matrix[config.numLayers()];
        for (int l : settings.layers()) m[l] = routers[l].matrix();
        return new BinaryRouters(config, settings, m);
    }
}
