package org.flexidepth4j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.skip.FlexiDepth;
import org.flexidepth4j.skip.FlexiDepthAdapter;
import org.flexidepth4j.skip.FlexiDepthRouter;

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
            routers[l] = new Router(
                    Param.trainable(p + "router.router_enc.weight", ScratchModel.normal(rng, r * d, INIT_STD), r, d, true),
                    Param.trainable(p + "router.router_norm.weight", ScratchModel.ones(r), 1, r, false),
                    Param.trainable(p + "router.router_dec.weight", ScratchModel.normal(rng, d * r, INIT_STD), d, r, true),
                    Param.trainable(p + "router.router_head.weight", ScratchModel.normal(rng, d, INIT_STD), 1, d, true),
                    Param.trainable(p + "router_proj.gate_proj.weight", ScratchModel.normal(rng, a * d, INIT_STD), a, d, true),
                    Param.trainable(p + "router_proj.down_proj.weight", ScratchModel.normal(rng, a * d, INIT_STD), a, d, true),
                    Param.trainable(p + "router_proj.up_proj.weight", ScratchModel.normal(rng, d * a, INIT_STD), d, a, true));
        }
        return new PlugIn(routers);
    }

    /** Trainable float32 copies of a loaded plug-in (e.g. {@code model.defaultPolicy()} of a FlexiDepth checkpoint). */
    public static PlugIn from(FlexiDepth fd) {
        ModelConfig c = fd.config();
        Router[] routers = new Router[c.numLayers()];
        for (int l : fd.routedLayers()) {
            String p = "model.layers." + l + ".";
            FlexiDepthRouter r = fd.router(l);
            FlexiDepthAdapter a = fd.adapter(l);
            routers[l] = new Router(
                    Param.trainableCopy(p + "router.router_enc.weight", r.enc(), true),
                    Param.trainable(p + "router.router_norm.weight", r.norm().clone(), 1, r.norm().length, false),
                    Param.trainableCopy(p + "router.router_dec.weight", r.dec(), true),
                    Param.trainableCopy(p + "router.router_head.weight", r.head(), true),
                    Param.trainableCopy(p + "router_proj.gate_proj.weight", a.gateProj(), true),
                    Param.trainableCopy(p + "router_proj.down_proj.weight", a.downProj(), true),
                    Param.trainableCopy(p + "router_proj.up_proj.weight", a.upProj(), true));
        }
        return new PlugIn(routers);
    }

    /** The inference policy over these tensors (live views: it sees every optimizer update). */
    public FlexiDepth toPolicy(ModelConfig c) {
        FlexiDepthRouter[] routers = new FlexiDepthRouter[c.numLayers()];
        FlexiDepthAdapter[] adapters = new FlexiDepthAdapter[c.numLayers()];
        int routerFactor = 0, projFactor = 0;
        for (int l : routedLayers()) {
            Router r = this.routers[l];
            routers[l] = new FlexiDepthRouter(r.enc().matrix(), r.norm().vector(), r.dec().matrix(), r.head().matrix());
            adapters[l] = new FlexiDepthAdapter(r.gate().matrix(), r.down().matrix(), r.up().matrix());
            routerFactor = c.hiddenSize() / r.enc().rows();
            projFactor = c.intermediateSize() / r.gate().rows();
        }
        return new FlexiDepth(c, routers, adapters, routerFactor, projFactor);
    }

    /** Writes the plug-in as the skip package does: float32, released naming, factors and routed layers in the metadata. */
    public void save(Path file, ModelConfig c) {
        toPolicy(c).save(file);
    }
}
