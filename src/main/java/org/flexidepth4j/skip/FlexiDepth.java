package org.flexidepth4j.skip;

import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.model.NonFiniteException;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.WorkCounter;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Matrix;
import org.flexidepth4j.tensor.Quantizer;
import org.flexidepth4j.tensor.VectorOps;

/**
 * FlexiDepth as a plug-in on a frozen base model: a router and an adapter on each routed layer. A token runs the
 * layer when its gate is above the threshold (strict '>'); a skipped token gets only K/V (done by the transformer),
 * the router and (1 - g) * Adapter(y). Layers without a router stay dense.
 */
public final class FlexiDepth implements SkipPolicy {
    public static final int DEFAULT_REDUCTION_FACTOR = 16;
    public static final double DEFAULT_THRESHOLD = 0.5;

    private final ModelConfig config;
    private final FlexiDepthRouter[] routers;
    private final FlexiDepthAdapter[] adapters;
    private final int routerReductionFactor;
    private final int projReductionFactor;
    private final double threshold;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    /** routers[l] and adapters[l] are both null (dense layer) or both set (routed layer). */
    FlexiDepth(ModelConfig config, FlexiDepthRouter[] routers, FlexiDepthAdapter[] adapters, int routerReductionFactor, int projReductionFactor) {
        this(config, routers, adapters, routerReductionFactor, projReductionFactor, DEFAULT_THRESHOLD);
    }

    private FlexiDepth(ModelConfig config, FlexiDepthRouter[] routers, FlexiDepthAdapter[] adapters, int routerReductionFactor,
                       int projReductionFactor, double threshold) {
        if (routers.length != config.numLayers() || adapters.length != config.numLayers()) {
            throw new IllegalArgumentException("expected routers and adapters for " + config.numLayers() + " layers");
        }
        for (int l = 0; l < routers.length; l++) {
            if ((routers[l] == null) != (adapters[l] == null)) throw new IllegalArgumentException("layer " + l + " has a router without an adapter or the reverse");
        }
        this.config = config;
        this.routers = routers;
        this.adapters = adapters;
        this.routerReductionFactor = routerReductionFactor;
        this.projReductionFactor = projReductionFactor;
        this.threshold = threshold;
    }

    /** The same plug-in deciding run iff gate > {@code threshold}. */
    public FlexiDepth withThreshold(double threshold) {
        if (!(threshold >= 0 && threshold <= 1)) throw new IllegalArgumentException("threshold " + threshold + " is outside [0, 1]");
        return new FlexiDepth(config, routers, adapters, routerReductionFactor, projReductionFactor, threshold);
    }

    /**
     * The same plug-in with its projections stored in the dtype its base model streams: F32 on an F32 base, else
     * BF16 (half the bytes, F32's range). A skipped token's cost is mostly reading these weights, so an F32 plug-in
     * on a BF16 base would read twice the bytes its FLOPs suggest. Quantized bases still get BF16: the router's
     * decisions are thresholds, and block quantization of its small matrices could flip them.
     */
    public FlexiDepth forBase(ModelWeights base) {
        DType dtype = base.layers()[0].wq().dtype() == DType.F32 ? DType.F32 : DType.BF16;
        FlexiDepthRouter[] r = new FlexiDepthRouter[routers.length];
        FlexiDepthAdapter[] a = new FlexiDepthAdapter[adapters.length];
        for (int l : routedLayers()) {
            r[l] = routers[l].storedAs(dtype);
            a[l] = adapters[l].storedAs(dtype);
        }
        return new FlexiDepth(config, r, a, routerReductionFactor, projReductionFactor, threshold);
    }

    /** {@code m} in {@code dtype}: itself when already so, else a rounded copy. */
    static Matrix stored(Matrix m, DType dtype) {
        return m.dtype() == dtype ? m : Quantizer.quantize(m, dtype);
    }

    public ModelConfig config() {
        return config;
    }

    public double threshold() {
        return threshold;
    }

    public int routerReductionFactor() {
        return routerReductionFactor;
    }

    public int projReductionFactor() {
        return projReductionFactor;
    }

    /** Router of layer l, null when the layer is not routed. */
    public FlexiDepthRouter router(int layer) {
        return routers[layer];
    }

    public FlexiDepthAdapter adapter(int layer) {
        return adapters[layer];
    }

    public int[] routedLayers() {
        return java.util.stream.IntStream.range(0, routers.length).filter(l -> routers[l] != null).toArray();
    }

    @Override
    public Plan plan(int layer) {
        return routers[layer] != null ? Plan.ROUTED : Plan.DENSE;
    }

    @Override
    public void route(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
        FlexiDepthRouter router = routers[layer];
        Scratch s = scratch.get().ensure(tokens, config.hiddenSize(), router.reducedSize());
        router.gates(normed, tokens, config.rmsNormEps(), s.a, s.wide, gate);
        NonFiniteException.check(gate, 0, tokens, "the FlexiDepth router gates of layer " + layer);
        work.add(layer, tokens * router.multiplyAddsPerToken(), router.byteSize());
        for (int t = 0; t < tokens; t++) {
            run[t] = gate[t] > threshold;
        }
    }

    @Override
    public boolean hasSkipPath(int layer) {
        return adapters[layer] != null;
    }

    @Override
    public void addSkipPath(int layer, float[] y, int n, float[] gates, int[] rowIndex, float[] residual, WorkCounter work) {
        FlexiDepthAdapter adapter = adapters[layer];
        int d = config.hiddenSize();
        Scratch s = scratch.get().ensure(n, d, adapter.intermediateSize());
        adapter.forward(y, n, s.a, s.b, s.wide);
        for (int i = 0; i < n; i++) VectorOps.axpy(1f - gates[i], s.wide, i * d, residual, rowIndex[i] * d, d);
        work.add(layer, n * adapter.multiplyAddsPerToken(), adapter.byteSize());
    }

    /** The latter half of the layers, FlexiDepth's default routed set. */
    public static int[] latterHalf(int numLayers) {
        return java.util.stream.IntStream.range(numLayers / 2, numLayers).toArray();
    }

    /** Per-thread scratch, grown to the largest batch seen (one policy may serve several sequences at once). */
    private static final class Scratch {
        float[] a = new float[0], b = new float[0], wide = new float[0];

        Scratch ensure(int rows, int d, int narrow) {
            if (a.length < rows * narrow) {
                a = new float[rows * narrow];
                b = new float[rows * narrow];
            }
            if (wide.length < rows * d) wide = new float[rows * d];
            return this;
        }
    }
}
