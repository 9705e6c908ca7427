package org.flexidepth4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.skip.BinaryRouterConfig;
import org.flexidepth4j.skip.BinaryRouterConfig.Site;
import org.flexidepth4j.skip.BinaryRouters;
import org.flexidepth4j.tensor.Matrix;

/**
 * The binary skip routers of Learning to Skip as {@link TrainableDecoder} trains them: per routed layer one [2, d]
 * router on the layer's normalised input (granularity "layer"), or two (granularity "module": the attention's on
 * input_layernorm(h), the FFN's on post_attention_layernorm(h + g_a·a)); straight-through Gumbel-softmax gates
 * ({@link SkipRouterOps}) and the density regulariser beta * Σ over routers (r − P)², r = mean over the sequence's
 * tokens of the soft execute probability (differentiable, unlike the hard fraction it estimates). Noise comes from
 * its own seeded stream, drawn in forward order.
 */
public final class TrainableSkipRouters {
    /** One router's weights and the state of its last forward. */
    private static final class Router {
        final Param weight;
        final float[] logits, noise, soft;
        double density, executed;

        Router(Param weight, int maxT) {
            this.weight = weight;
            logits = new float[2 * maxT];
            noise = new float[2 * maxT];
            soft = new float[maxT];
        }
    }

    private final ModelConfig config;
    private final BinaryRouterConfig settings;
    private final Map<Site, Router[]> routers = new EnumMap<>(Site.class);
    private final float[] dSoft, dLogits;
    private SplittableRandom rng = new SplittableRandom(0);
    private float noiseScale;
    private float target;

    private TrainableSkipRouters(ModelConfig config, BinaryRouterConfig settings, int maxT) {
        for (int l : settings.layers()) if (l >= config.numLayers()) throw new IllegalArgumentException("routed layer " + l + " is outside 0.." + (config.numLayers() - 1));
        this.config = config;
        this.settings = settings;
        for (Site site : settings.sites()) {
            Router[] r = new Router[config.numLayers()];
            for (int l : settings.layers()) {
                r[l] = new Router(Param.trainable(site.tensorName(l), new float[2 * config.hiddenSize()], 2, config.hiddenSize(), false), maxT);
            }
            routers.put(site, r);
        }
        dSoft = new float[maxT];
        dLogits = new float[2 * maxT];
        this.noiseScale = (float) settings.noiseScale();
        this.target = (float) settings.targetDensity();
    }

    /** Fresh routers, all zero: P(execute) = 0.5 for every token before training. */
    public static TrainableSkipRouters init(ModelConfig c, BinaryRouterConfig settings, int maxT) {
        return new TrainableSkipRouters(c, settings, maxT);
    }

    public BinaryRouterConfig settings() {
        return settings;
    }

    public boolean routes(int layer) {
        return settings.routes(layer);
    }

    /** Granularity "module": attention and FFN have their own routers. */
    public boolean perModule() {
        return routers.containsKey(Site.FFN);
    }

    /** Every router weight, layer by layer in forward order. */
    public List<Param> params() {
        List<Param> out = new ArrayList<>();
        for (int l : settings.layers()) for (Site site : settings.sites()) out.add(routers.get(site)[l].weight);
        return out;
    }

    /** Noise multiplier for the next forwards, and a fresh noise stream (same stream => same noise). */
    public void setNoise(double scale, long stream) {
        noiseScale = (float) scale;
        rng = new SplittableRandom(stream);
    }

    /** The density target P of the regulariser from now on (a schedule moves it during training). */
    public void setTarget(double target) {
        this.target = (float) target;
    }

    /** Gates of the router at {@code site} of layer l for its input x [T, d]: hard or soft per the settings; run = gate > 0.5. */
    void forward(Site site, int l, float[] x, int T, float[] gate, boolean[] run) {
        Router r = routers.get(site)[l];
        Ops.linear(r.weight, x, r.logits, T);
        SkipRouterOps.gumbelNoise(rng, noiseScale, r.noise, 2 * T);
        SkipRouterOps.gumbelGate(r.logits, r.noise, (float) settings.temperature(), settings.straightThrough(), r.soft, gate, T);
        int n = 0;
        for (int t = 0; t < T; t++) if (run[t] = gate[t] > 0.5f) n++;
        r.executed = (double) n / T;
        r.density = SkipRouterOps.density(r.soft, T, target, (float) settings.beta());
    }

    /** dGate: d(loss)/d(gate) of that router; adds scale × the regulariser's gradient, the router gradient and dx. */
    void backward(Site site, int l, float[] x, float[] dGate, float[] dx, int T, float scale) {
        Router r = routers.get(site)[l];
        System.arraycopy(dGate, 0, dSoft, 0, T);
        SkipRouterOps.densityBackward(r.soft, T, target, (float) settings.beta(), scale, dSoft);
        Arrays.fill(dLogits, 0, 2 * T, 0f);
        SkipRouterOps.gumbelGateBackward(r.soft, dSoft, (float) settings.temperature(), dLogits, T);
        Ops.linearBackward(r.weight, x, dLogits, settings.detachRouterInput() ? null : dx, T);
    }

    /** beta * Σ over routers (r − P)² of the last forward. */
    public double regularizer() {
        double s = 0;
        for (int l : settings.layers()) for (Site site : settings.sites()) s += routers.get(site)[l].density;
        return s;
    }

    /** Fraction of the last forward's tokens that the router at {@code site} of layer l executed. */
    public double executedFraction(Site site, int layer) {
        return routers.get(site)[layer].executed;
    }

    /** Fraction of the last forward's tokens executing layer l (per module: the mean of its two modules). */
    public double executedFraction(int layer) {
        double s = 0;
        for (Site site : settings.sites()) s += executedFraction(site, layer);
        return s / settings.sites().size();
    }

    /** Mean over routed layers of {@link #executedFraction(int)}. */
    public double meanExecutedFraction() {
        double s = 0;
        for (int l : settings.layers()) s += executedFraction(l);
        return settings.layers().length == 0 ? 1 : s / settings.layers().length;
    }

    /** The inference policy over the current values (shared, so it sees later updates). */
    public BinaryRouters policy() {
        Map<Site, Matrix[]> m = new EnumMap<>(Site.class);
        routers.forEach((site, r) -> {
            Matrix[] w = new Matrix[r.length];
            for (int l : settings.layers()) w[l] = r[l].weight.matrix();
            m.put(site, w);
        });
        return new BinaryRouters(config, settings, m);
    }
}
