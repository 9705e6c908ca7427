package org.flexidepth4j.skip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;

/**
 * The {@code "skip_router"} object of a Learning-to-Skip model's config.json (METHODS.md section 2). Inference reads
 * only {@code type}, {@code granularity} and {@code layers}; the rest are the training settings, kept with the
 * weights so a checkpoint says how it was made, and read by the pretrainer. Granularity {@code "layer"}: one router
 * per routed layer decides the whole block; {@code "module"}: two, one for the attention and one for the FFN.
 *
 * <pre>
 * "skip_router": {"type": "binary", "granularity": "layer", "layers": [1, 2, 3],
 *                 "target_density": 0.5, "target_density_start": 0.5, "target_density_anneal_fraction": 0.0,
 *                 "beta": 0.1, "gumbel_temperature": 1.0, "noise_scale": 1.0, "noise_anneal_fraction": 0.5,
 *                 "router_lr_multiplier": 1.0, "straight_through": true, "detach_router_input": false}
 * </pre>
 *
 * @param granularity         "layer" or "module"
 * @param layers              routed layers, ascending; the others always run
 * @param targetDensity       P: wanted fraction of tokens executing each routed layer
 * @param targetDensityStart  the density target at step 0 (a schedule lever: 1.0 starts dense)
 * @param targetDensityAnnealFraction fraction of the steps over which the target moves linearly from
 *                            targetDensityStart to targetDensity (0: P from the start)
 * @param beta                weight of the density regulariser beta * sum_l (r_l - P)^2
 * @param temperature         Gumbel-softmax temperature tau
 * @param noiseScale          Gumbel noise multiplier at the start of training
 * @param noiseAnnealFraction fraction of the steps over which the noise scale falls linearly to zero (0: constant)
 * @param routerLrMultiplier  router learning rate = lr * this
 * @param straightThrough     hard 0/1 gates forward, soft gradient backward; false: soft gates in both passes
 * @param detachRouterInput   the router's gradient trains the router only, not the residual stream it reads
 */
public record BinaryRouterConfig(String granularity, int[] layers, double targetDensity, double targetDensityStart,
                                 double targetDensityAnnealFraction, double beta, double temperature,
                                 double noiseScale, double noiseAnnealFraction, double routerLrMultiplier, boolean straightThrough,
                                 boolean detachRouterInput) {
    public static final String KEY = "skip_router";
    public static final String TYPE = "binary";
    public static final String LAYER = "layer", MODULE = "module";

    /** Where a [2, d] router sits in a routed layer, what it reads, and its tensor name. */
    public enum Site {
        /** granularity "layer": input_layernorm(h) decides attention and FFN together */
        LAYER("skip_router"),
        /** granularity "module": input_layernorm(h) decides the attention */
        ATTENTION("skip_router_attn"),
        /** granularity "module": post_attention_layernorm(h + g_a·a) decides the FFN */
        FFN("skip_router_mlp");

        private final String tensor;

        Site(String tensor) {
            this.tensor = tensor;
        }

        public String tensorName(int layer) {
            return "model.layers." + layer + "." + tensor + ".weight";
        }
    }

    public BinaryRouterConfig {
        if (!granularity.equals(LAYER) && !granularity.equals(MODULE)) throw new IllegalArgumentException("skip_router granularity '" + granularity + "' is not supported (expected 'layer' or 'module')");
        layers = layers.clone();
        for (int i = 0; i < layers.length; i++) {
            if (layers[i] < 0 || i > 0 && layers[i] <= layers[i - 1]) throw new IllegalArgumentException("skip_router layers must be distinct, ascending and >= 0: " + Arrays.toString(layers));
        }
        if (!(targetDensity >= 0 && targetDensity <= 1)) throw new IllegalArgumentException("target_density " + targetDensity + " is outside [0, 1]");
        if (!(targetDensityStart >= 0 && targetDensityStart <= 1)) throw new IllegalArgumentException("target_density_start " + targetDensityStart + " is outside [0, 1]");
        if (!(targetDensityAnnealFraction >= 0 && targetDensityAnnealFraction <= 1)) throw new IllegalArgumentException("target_density_anneal_fraction " + targetDensityAnnealFraction + " is outside [0, 1]");
        if (!(beta >= 0)) throw new IllegalArgumentException("beta " + beta + " must be >= 0");
        if (!(temperature > 0)) throw new IllegalArgumentException("gumbel_temperature " + temperature + " must be > 0");
        if (!(noiseScale >= 0)) throw new IllegalArgumentException("noise_scale " + noiseScale + " must be >= 0");
        if (!(noiseAnnealFraction >= 0 && noiseAnnealFraction <= 1)) throw new IllegalArgumentException("noise_anneal_fraction " + noiseAnnealFraction + " is outside [0, 1]");
        if (!(routerLrMultiplier > 0)) throw new IllegalArgumentException("router_lr_multiplier " + routerLrMultiplier + " must be > 0");
    }

    /** Defaults of every training setting, a router per layer on {@code layers}. */
    public static BinaryRouterConfig of(int... layers) {
        return of(LAYER, layers);
    }

    /** Defaults of every training setting, routers of {@code granularity} on {@code layers}. */
    public static BinaryRouterConfig of(String granularity, int... layers) {
        return new BinaryRouterConfig(granularity, layers, 0.5, 0.5, 0, 0.1, 1.0, 1.0, 0.5, 1.0, true, false);
    }

    @Override
    public int[] layers() {
        return layers.clone();
    }

    public boolean routes(int layer) {
        return Arrays.binarySearch(layers, layer) >= 0;
    }

    /** The routers of each routed layer, in forward order: [LAYER] or [ATTENTION, FFN]. */
    public List<Site> sites() {
        return granularity.equals(MODULE) ? List.of(Site.ATTENTION, Site.FFN) : List.of(Site.LAYER);
    }

    /** Noise multiplier at {@code step} of {@code steps}: linear from noiseScale to 0 over the anneal fraction. */
    public double noiseAt(int step, int steps) {
        if (noiseAnnealFraction <= 0) return noiseScale;
        double progress = (double) step / (noiseAnnealFraction * steps);
        return noiseScale * Math.max(0, 1 - progress);
    }

    /** Density target at {@code step} of {@code steps}: linear from targetDensityStart to targetDensity over the anneal fraction. */
    public double targetAt(int step, int steps) {
        if (targetDensityAnnealFraction <= 0) return targetDensity;
        double progress = Math.min(1, (double) step / (targetDensityAnnealFraction * steps));
        return targetDensityStart + (targetDensity - targetDensityStart) * progress;
    }

    /** Reads the object (defaults for absent training keys); {@code file} names errors. */
    public static BinaryRouterConfig parse(Path file, JsonNode n) {
        if (!n.isObject()) throw new FormatException(file, KEY + " must be a JSON object");
        BinaryRouterConfig d = of();
        for (var it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!d.toJson().has(k)) throw new FormatException(file, KEY + " has an unknown key '" + k + "' (expected " + String.join(", ", d.toJson().properties().stream().map(Map.Entry::getKey).toList()) + ")");
        }
        String type = n.path("type").asText(TYPE);
        if (!type.equals(TYPE)) throw new FormatException(file, KEY + " type '" + type + "' is not supported (only '" + TYPE + "')");
        JsonNode list = n.get("layers");
        if (list == null || !list.isArray()) throw new FormatException(file, KEY + ".layers must be an array of layer indices");
        int[] layers = new int[list.size()];
        for (int i = 0; i < layers.length; i++) {
            if (!list.get(i).canConvertToInt()) throw new FormatException(file, KEY + ".layers holds a non-integer: " + list.get(i));
            layers[i] = list.get(i).asInt();
        }
        double target = number(file, n, "target_density", d.targetDensity);
        try {
            return new BinaryRouterConfig(n.path("granularity").asText(LAYER), layers,
                    target, number(file, n, "target_density_start", target), number(file, n, "target_density_anneal_fraction", d.targetDensityAnnealFraction),
                    number(file, n, "beta", d.beta),
                    number(file, n, "gumbel_temperature", d.temperature), number(file, n, "noise_scale", d.noiseScale),
                    number(file, n, "noise_anneal_fraction", d.noiseAnnealFraction),
                    number(file, n, "router_lr_multiplier", d.routerLrMultiplier),
                    n.path("straight_through").asBoolean(d.straightThrough), n.path("detach_router_input").asBoolean(d.detachRouterInput));
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage());
        }
    }

    private static double number(Path file, JsonNode n, String key, double fallback) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber()) throw new FormatException(file, KEY + "." + key + " must be a number, got " + v);
        return v.asDouble();
    }

    public ObjectNode toJson() {
        ObjectNode n = Json.MAPPER.createObjectNode();
        n.put("type", TYPE).put("granularity", granularity);
        ArrayNode a = n.putArray("layers");
        for (int l : layers) a.add(l);
        n.put("target_density", targetDensity).put("target_density_start", targetDensityStart)
                .put("target_density_anneal_fraction", targetDensityAnnealFraction).put("beta", beta).put("gumbel_temperature", temperature)
                .put("noise_scale", noiseScale).put("noise_anneal_fraction", noiseAnnealFraction)
                .put("router_lr_multiplier", routerLrMultiplier).put("straight_through", straightThrough)
                .put("detach_router_input", detachRouterInput);
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BinaryRouterConfig c && toJson().equals(c.toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    @Override
    public String toString() {
        return toJson().toString();
    }
}
