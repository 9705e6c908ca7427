package org.flexidepth4j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.SafeTensorsWriter;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.ModelConfig;

/**
 * The trainable FlexiDepth plug-in: a router and an adapter per routed layer (METHODS.md section 1), named as in
 * the released checkpoint. {@code routers[l]} is null for layers that are not routed.
 */
public final class PlugIn {
    /** Std of the normal random init of every router/adapter matrix (router_norm starts at ones). */
    public static final double INIT_STD = 0.02;

    /** One routed layer's tensors. The adapter's gate/down are its INPUT projections, up its output. */
    public record Router(Param enc, Param norm, Param dec, Param head, Param gate, Param down, Param up) {
        List<Param> params() {
            return List.of(enc, norm, dec, head, gate, down, up);
        }
    }

    private final Router[] routers;

    private PlugIn(Router[] routers) {
        this.routers = routers;
    }

    public Router router(int layer) {
        return routers[layer];
    }

    public int numLayers() {
        return routers.length;
    }

    public int[] routedLayers() {
        List<Integer> out = new ArrayList<>();
        for (int l = 0; l < routers.length; l++) if (routers[l] != null) out.add(l);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    public List<Param> params() {
        List<Param> out = new ArrayList<>();
        for (Router r : routers) if (r != null) out.addAll(r.params());
        return out;
    }

    /** Fresh random plug-in on {@code layers}: matrices ~ N(0, INIT_STD²), router_norm = 1. */
    public static PlugIn init(ModelConfig c, int[] layers, int routerFactor, int projFactor, long seed) {
        int d = c.hiddenSize(), r = d / routerFactor, a = c.intermediateSize() / projFactor;
        SplittableRandom rng = new SplittableRandom(seed);
        Router[] routers = new Router[c.numLayers()];
        for (int l : layers) {
            if (l < 0 || l >= c.numLayers()) throw new IllegalArgumentException("routed layer " + l + " is outside 0.." + (c.numLayers() - 1));
            String p = "model.layers." + l + ".";
            float[] ones = new float[r];
            java.util.Arrays.fill(ones, 1f);
            routers[l] = new Router(
                    Param.trainable(p + "router.router_enc.weight", normal(rng, r * d), r, d, true),
                    Param.trainable(p + "router.router_norm.weight", ones, 1, r, false),
                    Param.trainable(p + "router.router_dec.weight", normal(rng, d * r), d, r, true),
                    Param.trainable(p + "router.router_head.weight", normal(rng, d), 1, d, true),
                    Param.trainable(p + "router_proj.gate_proj.weight", normal(rng, a * d), a, d, true),
                    Param.trainable(p + "router_proj.down_proj.weight", normal(rng, a * d), a, d, true),
                    Param.trainable(p + "router_proj.up_proj.weight", normal(rng, d * a), d, a, true));
        }
        return new PlugIn(routers);
    }

    private static float[] normal(SplittableRandom rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            // Box-Muller from the seeded stream: reproducible across JVMs, unlike java.util.Random's gaussian cache
            double u1 = 1.0 - rng.nextDouble(), u2 = rng.nextDouble();
            v[i] = (float) (INIT_STD * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
        return v;
    }

    /** The plug-in tensors found in a checkpoint (routed layers = those with a router_enc), as trainable copies. */
    public static PlugIn fromTensors(ModelConfig c, Map<String, TensorEntry> tensors, Path source) {
        Router[] routers = new Router[c.numLayers()];
        int d = c.hiddenSize();
        boolean any = false;
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            if (!tensors.containsKey(p + "router.router_enc.weight")) continue;
            TensorEntry enc = tensors.get(p + "router.router_enc.weight");
            TensorEntry gate = need(tensors, p + "router_proj.gate_proj.weight", source);
            if (enc.shape().length != 2 || gate.shape().length != 2) throw new FormatException(source, "router tensors of layer " + l + " must be 2-D");
            int r = (int) enc.shape()[0], a = (int) gate.shape()[0];
            routers[l] = new Router(
                    load(tensors, p + "router.router_enc.weight", r, d, true, source),
                    load(tensors, p + "router.router_norm.weight", 1, r, false, source),
                    load(tensors, p + "router.router_dec.weight", d, r, true, source),
                    load(tensors, p + "router.router_head.weight", 1, d, true, source),
                    load(tensors, p + "router_proj.gate_proj.weight", a, d, true, source),
                    load(tensors, p + "router_proj.down_proj.weight", a, d, true, source),
                    load(tensors, p + "router_proj.up_proj.weight", d, a, true, source));
            any = true;
        }
        if (!any) throw new FormatException(source, "no FlexiDepth router tensors (model.layers.N.router.router_enc.weight)");
        return new PlugIn(routers);
    }

    private static TensorEntry need(Map<String, TensorEntry> tensors, String name, Path source) {
        TensorEntry e = tensors.get(name);
        if (e == null) throw new FormatException(source, "tensor " + name + " is missing");
        return e;
    }

    private static Param load(Map<String, TensorEntry> tensors, String name, int rows, int cols, boolean decay, Path source) {
        TensorEntry e = need(tensors, name, source);
        if (e.elementCount() != (long) rows * cols) throw new FormatException(source, "tensor " + name + " has " + e.elementCount() + " values, expected " + rows + "x" + cols);
        float[] v = e.toFloats();
        for (float f : v) if (!Float.isFinite(f)) throw new FormatException(source, "tensor " + name + " contains NaN or infinity");
        return Param.trainable(name, v, rows, cols, decay);
    }

    /** Writes the plug-in in the released naming (float32), atomically. */
    public void save(Path file) {
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (Param p : params()) {
            if (p.rows() == 1 && p.name().endsWith("norm.weight")) w.addF32(p.name(), p.value(), p.cols());
            else w.addF32(p.name(), p.value(), p.rows(), p.cols());
        }
        w.metadata("format", "pt").write(file);
    }
}
