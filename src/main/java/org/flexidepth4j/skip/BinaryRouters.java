package org.flexidepth4j.skip;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.WorkCounter;
import org.flexidepth4j.skip.BinaryRouterConfig.Site;
import org.flexidepth4j.tensor.Matrix;

/**
 * Learning to Skip at inference (METHODS.md section 2): each routed layer has a linear router W_r [2, d] (row 0:
 * skip, row 1: execute, no bias) on the layer's input_layernorm output. A token runs the layer iff its execute-logit
 * is strictly greater than its skip-logit, with gate 1 (the full block); a skipped token's residual passes unchanged
 * (no attention output, no FFN), though the transformer still computes its K/V so later tokens can attend to it.
 * Granularity "module": the attention router decides the attention the same way, and a second router on
 * post_attention_layernorm(h + attention) decides the FFN ({@link #routeFeedForward}); a token skipping the FFN
 * costs nothing there. Tensors: {@link Site#tensorName}; settings: {@link BinaryRouterConfig}.
 */
public final class BinaryRouters implements SkipPolicy {
    public static final int SKIP = 0, EXECUTE = 1;
    private static final Pattern TENSOR = Pattern.compile("model\\.layers\\.\\d+\\.skip_router(_attn|_mlp)?\\.weight");

    private final ModelConfig config;
    private final BinaryRouterConfig settings;
    private final Map<Site, Matrix[]> routers = new EnumMap<>(Site.class);

    /**
     * routers.get(site)[l] is the [2, d] router of layer l at that site, for exactly the sites of the settings'
     * granularity; null exactly for the layers the settings do not route.
     */
    public BinaryRouters(ModelConfig config, BinaryRouterConfig settings, Map<Site, Matrix[]> routers) {
        if (!routers.keySet().equals(Set.copyOf(settings.sites()))) throw new IllegalArgumentException("routers at " + routers.keySet() + ", granularity '" + settings.granularity() + "' has " + settings.sites());
        for (int l : settings.layers()) if (l >= config.numLayers()) throw new IllegalArgumentException("routed layer " + l + " is outside 0.." + (config.numLayers() - 1));
        for (Site site : settings.sites()) {
            Matrix[] m = routers.get(site);
            if (m.length != config.numLayers()) throw new IllegalArgumentException("expected routers for " + config.numLayers() + " layers");
            for (int l = 0; l < m.length; l++) {
                if ((m[l] != null) != settings.routes(l)) throw new IllegalArgumentException("layer " + l + ": router presence does not match the routed layers");
                if (m[l] != null && (m[l].rows() != 2 || m[l].cols() != config.hiddenSize())) {
                    throw new IllegalArgumentException("router " + site.tensorName(l) + " is " + m[l].rows() + "x" + m[l].cols() + ", expected 2x" + config.hiddenSize());
                }
            }
            this.routers.put(site, m.clone());
        }
        this.config = config;
        this.settings = settings;
    }

    public BinaryRouterConfig settings() {
        return settings;
    }

    public Matrix router(Site site, int layer) {
        return routers.get(site)[layer];
    }

    @Override
    public Plan plan(int layer) {
        return settings.routes(layer) ? Plan.ROUTED : Plan.DENSE;
    }

    /** The layer router, or the attention router per module. */
    @Override
    public void route(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
        decide(routers.get(settings.sites().getFirst())[layer], layer, normed, tokens, run, gate, work);
    }

    /** Per module: the FFN router's own decision; per layer: the FFN follows the layer's. */
    @Override
    public void routeFeedForward(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
        Matrix[] ffn = routers.get(Site.FFN);
        if (ffn != null) decide(ffn[layer], layer, normed, tokens, run, gate, work);
    }

    private void decide(Matrix w, int layer, float[] normed, int tokens, boolean[] run, float[] gate, WorkCounter work) {
        int d = config.hiddenSize();
        for (int t = 0; t < tokens; t++) {
            run[t] = w.dot(EXECUTE, normed, t * d) > w.dot(SKIP, normed, t * d);
            gate[t] = run[t] ? 1f : 0f;
        }
        work.add(layer, 2L * d * tokens, w.byteSize());
    }

    // ---- loading ----

    /** Whether an HF directory's config or tensors declare binary skip routers. */
    public static boolean present(JsonNode config, Map<String, TensorEntry> tensors) {
        return config.has(BinaryRouterConfig.KEY) || tensors.keySet().stream().anyMatch(n -> TENSOR.matcher(n).matches());
    }

    public static BinaryRouters fromHfDirectory(Path dir, ModelConfig config, Map<String, TensorEntry> tensors) {
        Path file = dir.resolve("config.json");
        JsonNode c = Json.read(file);
        if (!c.has(BinaryRouterConfig.KEY)) throw new FormatException(file, "skip_router tensors are present but config.json has no \"" + BinaryRouterConfig.KEY + "\" object");
        BinaryRouterConfig settings = BinaryRouterConfig.parse(file, c.get(BinaryRouterConfig.KEY));
        for (int l : settings.layers()) if (l >= config.numLayers()) throw new FormatException(file, "skip_router layer " + l + " is outside 0.." + (config.numLayers() - 1));
        Set<String> expected = new HashSet<>();
        for (Site site : settings.sites()) for (int l : settings.layers()) expected.add(site.tensorName(l));
        for (String name : tensors.keySet()) {
            if (TENSOR.matcher(name).matches() && !expected.contains(name)) {
                throw new FormatException(dir, "tensor " + name + " is not a router of granularity '" + settings.granularity() + "' on the routed layers " + java.util.Arrays.toString(settings.layers()));
            }
        }
        Map<Site, Matrix[]> routers = new EnumMap<>(Site.class);
        for (Site site : settings.sites()) {
            Matrix[] m = new Matrix[config.numLayers()];
            for (int l : settings.layers()) {
                String name = site.tensorName(l);
                TensorEntry e = tensors.get(name);
                if (e == null) throw new FormatException(dir, "tensor " + name + " is missing");
                e.expectShape(2, config.hiddenSize());
                for (float f : e.toFloats()) if (!Float.isFinite(f)) throw new FormatException(e.file(), "tensor " + name + " contains NaN or infinity");
                m[l] = e.asMatrix();
            }
            routers.put(site, m);
        }
        return new BinaryRouters(config, settings, routers);
    }
}
