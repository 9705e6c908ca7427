package org.flexidepth4j.skip;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import java.util.regex.Pattern;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.tensor.F32Matrix;
import org.flexidepth4j.tensor.Gaussian;
import org.flexidepth4j.tensor.Matrix;

/**
 * The seven tensors of a FlexiDepth routed layer, named as in the released checkpoint (METHODS.md section 1), in the
 * order every reader, writer and random init walks them. Widths: d (hidden), r = d / router factor, a = intermediate /
 * proj factor. The adapter's INPUT projections are gate_proj and down_proj, its output up_proj (the base MLP's roles
 * reversed).
 */
public enum FlexiDepthTensor {
    ROUTER_ENC("router.router_enc.weight"),
    ROUTER_NORM("router.router_norm.weight"),
    ROUTER_DEC("router.router_dec.weight"),
    ROUTER_HEAD("router.router_head.weight"),
    ADAPTER_GATE("router_proj.gate_proj.weight"),
    ADAPTER_DOWN("router_proj.down_proj.weight"),
    ADAPTER_UP("router_proj.up_proj.weight");

    /** Any FlexiDepth tensor; group 1 is the layer. */
    static final Pattern ANY = Pattern.compile("model\\.layers\\.(\\d+)\\.(router|router_proj)\\..*");

    private final String suffix;

    FlexiDepthTensor(String suffix) {
        this.suffix = suffix;
    }

    public String name(int layer) {
        return "model.layers." + layer + "." + suffix;
    }

    /** The norm weights, stored 1-D; every other tensor is a matrix. */
    public boolean isVector() {
        return this == ROUTER_NORM;
    }

    public int rows(int d, int r, int a) {
        return switch (this) {
            case ROUTER_ENC -> r;
            case ROUTER_NORM, ROUTER_HEAD -> 1;
            case ROUTER_DEC, ADAPTER_UP -> d;
            case ADAPTER_GATE, ADAPTER_DOWN -> a;
        };
    }

    public int cols(int d, int r, int a) {
        return switch (this) {
            case ROUTER_NORM, ROUTER_DEC -> r;
            case ADAPTER_UP -> a;
            case ROUTER_ENC, ROUTER_HEAD, ADAPTER_GATE, ADAPTER_DOWN -> d;
        };
    }

    /** This tensor of {@code layer} of a plug-in (the norm as a [1, r] view). */
    public Matrix of(FlexiDepth fd, int layer) {
        FlexiDepthRouter r = fd.router(layer);
        FlexiDepthAdapter a = fd.adapter(layer);
        return switch (this) {
            case ROUTER_ENC -> r.enc();
            case ROUTER_NORM -> F32Matrix.of(r.norm(), 1, r.norm().length);
            case ROUTER_DEC -> r.dec();
            case ROUTER_HEAD -> r.head();
            case ADAPTER_GATE -> a.gateProj();
            case ADAPTER_DOWN -> a.downProj();
            case ADAPTER_UP -> a.upProj();
        };
    }

    /**
     * A plug-in on {@code layers} from one matrix per (tensor, layer), asked for layer by layer in this enum's order;
     * the norm's matrix is one row.
     */
    public static FlexiDepth assemble(ModelConfig config, int[] layers, int routerFactor, int projFactor, BiFunction<FlexiDepthTensor, Integer, Matrix> source) {
        FlexiDepthRouter[] routers = new FlexiDepthRouter[config.numLayers()];
        FlexiDepthAdapter[] adapters = new FlexiDepthAdapter[config.numLayers()];
        for (int l : layers) {
            Matrix[] m = new Matrix[values().length];
            for (FlexiDepthTensor t : values()) m[t.ordinal()] = source.apply(t, l);
            float[] norm = new float[m[ROUTER_NORM.ordinal()].cols()];
            m[ROUTER_NORM.ordinal()].readRow(0, norm, 0);
            routers[l] = new FlexiDepthRouter(m[ROUTER_ENC.ordinal()], norm, m[ROUTER_DEC.ordinal()], m[ROUTER_HEAD.ordinal()]);
            adapters[l] = new FlexiDepthAdapter(m[ADAPTER_GATE.ordinal()], m[ADAPTER_DOWN.ordinal()], m[ADAPTER_UP.ordinal()]);
        }
        return new FlexiDepth(config, routers, adapters, routerFactor, projFactor);
    }

    /**
     * A fresh plug-in on {@code layers}: every matrix ~ N(0, std²) from one seeded stream, router norm weights 1;
     * float32 heap matrices.
     */
    public static FlexiDepth randomInit(ModelConfig config, int[] layers, int routerFactor, int projFactor, long seed, double std) {
        int d = config.hiddenSize(), r = d / routerFactor, a = config.intermediateSize() / projFactor;
        if (r < 1 || a < 1) throw new IllegalArgumentException("model too narrow for reduction factors " + routerFactor + "/" + projFactor);
        for (int l : layers) {
            if (l < 0 || l >= config.numLayers()) throw new IllegalArgumentException("routed layer " + l + " is outside 0.." + (config.numLayers() - 1));
        }
        SplittableRandom rng = new SplittableRandom(seed);
        return assemble(config, layers, routerFactor, projFactor, (t, l) -> {
            int rows = t.rows(d, r, a), cols = t.cols(d, r, a);
            float[] v = new float[rows * cols];
            if (t.isVector()) Arrays.fill(v, 1f);
            else v = Gaussian.normal(rng, rows * cols, std);
            return F32Matrix.of(v, rows, cols);
        });
    }
}
