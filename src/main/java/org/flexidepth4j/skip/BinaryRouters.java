package org.flexidepth4j.skip;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.WorkCounter;
import org.flexidepth4j.tensor.Matrix;

/**
 * Learning to Skip at inference (METHODS.md section 2): each routed layer has a linear router W_r [2, d] (row 0:
 * skip, row 1: execute, no bias) on the layer's input_layernorm output. A token runs the layer iff its execute-logit
 * is strictly greater than its skip-logit, with gate 1 (the full block); a skipped token's residual passes unchanged
 * (no attention output, no FFN), though the transformer still computes its K/V so later tokens can attend to it.
 * Tensors: {@code model.layers.{i}.skip_router.weight} [2, d]; settings: {@link BinaryRouterConfig}.
 */
public final class BinaryRouters implements SkipPolicy {
    public static final int SKIP = 0, EXECUTE = 1;
    private static final Pattern TENSOR = Pattern.compile("model\\.layers\\.(\\d+)\\.skip_router\\.weight");

    private final ModelConfig config;
    private final BinaryRouterConfig settings;
    private final Matrix[] routers;

    /** routers[l] is the [2, d] router of layer l, null exactly for the layers settings does not route. */
    public BinaryRouters(ModelConfig config, BinaryRouterConfig settings, Matrix[] routers) {
        if (routers.length != config.numLayers()) throw new IllegalArgumentException("expected routers for " + config.numLayers() + " layers");
        for (int l = 0; l < routers.length; l++) {
            if ((routers[l] != null) != settings.routes(l)) throw new IllegalArgumentException("layer " + l + ": router presence does not match the routed layers");
            if (routers[l] != null && (routers[l].rows() != 2 || routers[l].cols() != config.hiddenSize())) {
                throw new IllegalArgumentException("router of layer " + l + " is " + routers[l].rows() + "x" + routers[l].cols() + ", expected 2x" + config.hiddenSize());
            }
        }
        for (int l : settings.layers()) if (l >= config.numLayers()) throw new IllegalArgumentException("routed layer " + l + " is outside 0.." + (config.numLayers() - 1));
        this.config = config;
        this.settings = settings;
        this.routers = routers.clone();
    }

    public static String tensorName(int layer) {
        return "model.layers." + layer + ".skip_router.weight";
    }

    public BinaryRouterConfig settings() {
        return settings;
    }

    public Matrix router(int layer) {
        return routers[layer];
    }

    @Override
    public Plan plan(int layer) {
        return routers[layer] != null ? Plan.ROUTED : Plan.DENSE;
    }

    @Override
    public void route(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
        Matrix w = routers[layer];
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
        for (String name : tensors.keySet()) {
            Matcher m = TENSOR.matcher(name);
            if (m.matches() && !settings.routes(safeInt(m.group(1)))) {
                throw new FormatException(dir, "tensor " + name + " is not one of the routed layers " + java.util.Arrays.toString(settings.layers()));
            }
        }
        Matrix[] routers = new Matrix[config.numLayers()];
        for (int l : settings.layers()) {
            if (l >= config.numLayers()) throw new FormatException(file, "skip_router layer " + l + " is outside 0.." + (config.numLayers() - 1));
            TensorEntry e = tensors.get(tensorName(l));
            if (e == null) throw new FormatException(dir, "tensor " + tensorName(l) + " is missing");
            e.expectShape(2, config.hiddenSize());
            for (float f : e.toFloats()) if (!Float.isFinite(f)) throw new FormatException(e.file(), "tensor " + tensorName(l) + " contains NaN or infinity");
            routers[l] = e.asMatrix();
        }
        return new BinaryRouters(config, settings, routers);
    }

    private static int safeInt(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
