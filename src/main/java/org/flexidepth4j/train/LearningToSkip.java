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
 * Learning to Skip (METHODS.md section 2) as {@link TrainableDecoder} trains it: binary routers, one [2, d] router per
 * routed layer ({@link LearningToSkipPerLayer}) or two ({@link LearningToSkipPerModule}: the attention's and the
 * FFN's); straight-through Gumbel-softmax gates ({@link SkipRouterOps}) and the loss term beta * Σ over routers
 * (r − P)², r = mean over the sequence's tokens of the soft execute probability (differentiable, unlike the hard
 * fraction it estimates). Noise comes from its own seeded stream, drawn in forward order.
 */
public abstract class LearningToSkip implements TrainableSkip {
    /** One router's weights and the state of its last forward. */
    static final class Router {
        final Param weight;
        final float[] logits, noise, soft, gate, dGate;
        final boolean[] run;
        double density, executed;

        Router(Param weight, int maxT) {
            this.weight = weight;
            logits = new float[2 * maxT];
            noise = new float[2 * maxT];
            soft = new float[maxT];
            gate = new float[maxT];
            dGate = new float[maxT];
            run = new boolean[maxT];
        }
    }

    private final ModelConfig config;
    private final BinaryRouterConfig settings;
    private final Map<Site, Router[]> routers = new EnumMap<>(Site.class);
    private final Layer[] layers;
    private final float[] dSoft, dLogits;
    private SplittableRandom rng = new SplittableRandom(0);
    private float noiseScale;
    private float target;

    LearningToSkip(ModelConfig config, BinaryRouterConfig settings, int maxT) {
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
        layers = new Layer[config.numLayers()];
        for (int l = 0; l < layers.length; l++) layers[l] = settings.routes(l) ? routedLayer(l) : Layer.DENSE;
    }

    /** Fresh routers of the settings' granularity, all zero: P(execute) = 0.5 for every token before training. */
    public static LearningToSkip init(ModelConfig c, BinaryRouterConfig settings, int maxT) {
        return settings.sites().contains(Site.FFN) ? new LearningToSkipPerModule(c, settings, maxT) : new LearningToSkipPerLayer(c, settings, maxT);
    }

    /** This granularity's share of routed layer l. */
    abstract Layer routedLayer(int l);

    /** A routed layer's share, deciding its gates (the whole layer's, or the attention's) with {@code entry} on x. */
    abstract class RoutedLayer implements Layer {
        final Router entry;

        RoutedLayer(Router entry) {
            this.entry = entry;
        }

        @Override
        public boolean trains() {
            return true;
        }

        @Override
        public void gate(float[] x, int T) { decide(entry, x, T); }

        @Override
        public void gateBackward(float[] x, float[] dx, int T, float scale) { decideBackward(entry, x, dx, T, scale); }
    }

    /** The router at {@code site} of layer l. */
    final Router router(Site site, int l) {
        return routers.get(site)[l];
    }

    @Override
    public final Layer layer(int l) {
        return layers[l];
    }

    public BinaryRouterConfig settings() {
        return settings;
    }

    /** Every router weight, layer by layer in forward order. */
    @Override
    public final List<Param> params() {
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

    /** The router's gates for its input x [T, d]: hard or soft per the settings; run = gate > 0.5. */
    final void decide(Router r, float[] x, int T) {
        Ops.linear(r.weight, x, r.logits, T);
        SkipRouterOps.gumbelNoise(rng, noiseScale, r.noise, 2 * T);
        SkipRouterOps.gumbelGate(r.logits, r.noise, (float) settings.temperature(), settings.straightThrough(), r.soft, r.gate, T);
        int n = 0;
        for (int t = 0; t < T; t++) if (r.run[t] = r.gate[t] > 0.5f) n++;
        r.executed = (double) n / T;
        r.density = SkipRouterOps.density(r.soft, T, target, (float) settings.beta());
    }

    /** From the router's dGate (d(loss)/d(gate)): adds scale × the regulariser's gradient, the router gradient and dx. */
    final void decideBackward(Router r, float[] x, float[] dx, int T, float scale) {
        System.arraycopy(r.dGate, 0, dSoft, 0, T);
        SkipRouterOps.densityBackward(r.soft, T, target, (float) settings.beta(), scale, dSoft);
        Arrays.fill(dLogits, 0, 2 * T, 0f);
        SkipRouterOps.gumbelGateBackward(r.soft, dSoft, (float) settings.temperature(), dLogits, T);
        Ops.linearBackward(r.weight, x, dLogits, settings.detachRouterInput() ? null : dx, T);
    }

    /** beta * Σ over routers (r − P)² of the last forward: this method's loss term. */
    @Override
    public final double loss() {
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
