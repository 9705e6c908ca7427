package org.flexidepth4j.load;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Set;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.MoeConfig;
import org.flexidepth4j.model.RopeConfig;

/** Reads an HF config.json (both the legacy rope_theta/rope_scaling keys and the newer rope_parameters). */
public final class HfConfig {
    public static final Set<String> ARCHITECTURES = Set.of("llama", "mistral", "qwen2", "qwen3", "mixtral", "olmoe", "qwen2_moe", "qwen3_moe");

    private HfConfig() {
    }

    public static ModelConfig read(Path file) {
        return parse(file, Json.read(file));
    }

    public static ModelConfig parse(Path file, JsonNode c) {
        if (!c.isObject()) throw new FormatException(file, "config is not a JSON object");
        String type = c.path("model_type").asText("");
        if (!ARCHITECTURES.contains(type)) {
            throw new FormatException(file, "unknown model_type '" + type + "' (supported: " + String.join(", ", ARCHITECTURES.stream().sorted().toList()) + ")");
        }
        Keys keys = new Keys(file);
        int d = keys.requiredInt(c, "hidden_size");
        int heads = keys.requiredInt(c, "num_attention_heads");
        int kvHeads = keys.optionalInt(c, "num_key_value_heads", heads);
        int headDim = keys.optionalInt(c, "head_dim", d / heads);
        int maxPositions = keys.optionalInt(c, "max_position_embeddings", 2048);
        boolean bias = type.equals("qwen2") || type.equals("qwen2_moe") || c.path("attention_bias").asBoolean(false);
        try {
            RopeConfig rope = rope(keys, c, headDim, maxPositions);
            return new ModelConfig(type, d, keys.requiredInt(c, "intermediate_size"), keys.requiredInt(c, "num_hidden_layers"),
                    heads, kvHeads, headDim, keys.requiredInt(c, "vocab_size"), maxPositions,
                    (float) keys.positive(c, "rms_norm_eps", 1e-6), rope, c.path("tie_word_embeddings").asBoolean(false),
                    bias, Set.of("qwen3", "qwen3_moe", "olmoe").contains(type)).withMoe(moe(keys, c, type));
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage());
        }
    }

    /**
     * The mixture of experts of mixtral (num_local_experts, renormalised top-k), olmoe, qwen2_moe (+ its shared
     * expert) and qwen3_moe (num_experts; renormalised when norm_topk_prob); null for a dense model. Every layer
     * must be a MoE layer (decoder_sparse_step 1, no mlp_only_layers).
     */
    private static MoeConfig moe(Keys keys, JsonNode c, String type) {
        if (!Set.of("mixtral", "olmoe", "qwen2_moe", "qwen3_moe").contains(type)) return null;
        boolean mixtral = type.equals("mixtral");
        if (keys.optionalInt(c, "decoder_sparse_step", 1) != 1 || !c.path("mlp_only_layers").isEmpty()) {
            throw new FormatException(keys.file, "dense layers between the MoE layers (decoder_sparse_step, mlp_only_layers) are not supported");
        }
        if (c.hasNonNull("clip_qkv")) throw new FormatException(keys.file, "clip_qkv (OLMoE's clamped q/k/v projections) is not supported");
        int experts = keys.requiredInt(c, mixtral ? "num_local_experts" : "num_experts");
        int ff = mixtral || type.equals("olmoe") ? keys.requiredInt(c, "intermediate_size") : keys.requiredInt(c, "moe_intermediate_size");
        int shared = type.equals("qwen2_moe") ? keys.requiredInt(c, "shared_expert_intermediate_size") : 0;
        boolean normalize = mixtral || c.path("norm_topk_prob").asBoolean(false);
        return new MoeConfig(experts, keys.requiredInt(c, "num_experts_per_tok"), ff, normalize, shared);
    }

    /** RoPE from rope_parameters (transformers 5) or rope_scaling + rope_theta (earlier); rotate-half pairs. */
    private static RopeConfig rope(Keys keys, JsonNode c, int headDim, int maxPositions) {
        JsonNode r = c.has("rope_parameters") ? c.get("rope_parameters") : c.path("rope_scaling");
        if (!r.isObject() && !r.isMissingNode() && !r.isNull()) throw new FormatException(keys.file, "rope_scaling is not a JSON object");
        double theta = c.has("rope_theta") ? keys.positive(c, "rope_theta", 10000) : keys.positive(r, "rope_theta", 10000);
        double partial = c.has("partial_rotary_factor") ? keys.positive(c, "partial_rotary_factor", 1) : keys.positive(r, "partial_rotary_factor", 1);
        if (partial > 1) throw new FormatException(keys.file, "partial_rotary_factor " + partial + " is greater than 1");
        int rotaryDim = partial == 1 ? 0 : (int) (headDim * partial);
        String type = r.path("rope_type").asText(r.path("type").asText("default"));
        RopeConfig.Scaling scaling = switch (type) {
            case "default" -> RopeConfig.Scaling.NONE;
            case "linear" -> new RopeConfig.Linear(keys.positive(r, "factor", Double.NaN));
            case "llama3" -> new RopeConfig.Llama3(keys.positive(r, "factor", Double.NaN), keys.positive(r, "low_freq_factor", Double.NaN),
                    keys.positive(r, "high_freq_factor", Double.NaN), keys.requiredInt(r, "original_max_position_embeddings"));
            case "yarn" -> yarn(keys, r, maxPositions);
            case "dynamic" -> dynamic(keys, r, maxPositions);
            case "longrope" -> throw new FormatException(keys.file, "rope type 'longrope' (short or long factors chosen by sequence length) is not supported");
            default -> throw new FormatException(keys.file, "unsupported rope type '" + type + "' (supported: default, linear, llama3, yarn, dynamic)");
        };
        return new RopeConfig(theta, false, rotaryDim, scaling);
    }

    /**
     * transformers' dynamic NTK scaling raises the base only for a sequence longer than original_max_position_embeddings
     * (default max_position_embeddings); our context never exceeds max_position_embeddings, so up to there it is
     * plain RoPE. A shorter original_max_position_embeddings (scaling inside the context) is refused.
     */
    private static RopeConfig.Scaling dynamic(Keys keys, JsonNode r, int maxPositions) {
        keys.positive(r, "factor", Double.NaN);
        int original = keys.optionalInt(r, "original_max_position_embeddings", maxPositions);
        if (original < maxPositions) {
            throw new FormatException(keys.file, "rope type 'dynamic' with original_max_position_embeddings " + original + " < max_position_embeddings "
                    + maxPositions + " (NTK scaling recomputed from each sequence's length inside the context) is not supported");
        }
        return RopeConfig.Scaling.NONE;
    }

    /** transformers' YaRN: attention_factor if given, else from mscale / mscale_all_dim, else 0.1 ln(factor) + 1. */
    private static RopeConfig.Yarn yarn(Keys keys, JsonNode r, int maxPositions) {
        if (!r.path("truncate").asBoolean(true)) throw new FormatException(keys.file, "yarn with truncate=false is not supported");
        double factor = keys.positive(r, "factor", Double.NaN);
        double attention;
        if (r.hasNonNull("attention_factor")) {
            attention = keys.positive(r, "attention_factor", Double.NaN);
        } else if (r.hasNonNull("mscale") && r.hasNonNull("mscale_all_dim")) {
            attention = mscale(factor, keys.positive(r, "mscale", Double.NaN)) / mscale(factor, keys.positive(r, "mscale_all_dim", Double.NaN));
        } else {
            attention = RopeConfig.Yarn.defaultAttentionFactor(factor);
        }
        return new RopeConfig.Yarn(factor, keys.optionalInt(r, "original_max_position_embeddings", maxPositions),
                keys.positive(r, "beta_fast", 32), keys.positive(r, "beta_slow", 1), attention);
    }

    private static double mscale(double factor, double mscale) {
        return factor <= 1 ? 1 : 0.1 * mscale * Math.log(factor) + 1;
    }

    /** Typed, checked reads of config values, every error naming the file and the key. */
    private record Keys(Path file) {
        int requiredInt(JsonNode c, String key) {
            JsonNode v = c.get(key);
            if (v == null || !v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() <= 0) throw new FormatException(file, "missing or invalid key '" + key + "'");
            return v.asInt();
        }

        int optionalInt(JsonNode c, String key, int fallback) {
            return c.hasNonNull(key) ? requiredInt(c, key) : fallback;
        }

        /** A finite number > 0; {@code fallback} NaN makes the key required. */
        double positive(JsonNode c, String key, double fallback) {
            JsonNode v = c.get(key);
            if (v == null || v.isNull()) {
                if (Double.isNaN(fallback)) throw new FormatException(file, "key '" + key + "' is missing");
                return fallback;
            }
            if (!v.isNumber() || !(v.asDouble() > 0) || Double.isInfinite(v.asDouble())) {
                throw new FormatException(file, "key '" + key + "' must be a finite number > 0, got " + v);
            }
            return v.asDouble();
        }
    }
}
