package org.flexidepth4j.load;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.DecoderVariant;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.MoeConfig;
import org.flexidepth4j.model.RopeConfig;

/** Reads an HF config.json (both the legacy rope_theta/rope_scaling keys and the newer rope_parameters). */
public final class HfConfig {
    public static final Set<String> ARCHITECTURES = Set.of("llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text", "phi3", "mixtral", "olmoe", "qwen2_moe", "qwen3_moe");

    private HfConfig() {
    }

    public static ModelConfig read(Path file) {
        return parse(file, Json.read(file));
    }

    public static ModelConfig parse(Path file, JsonNode c) {
        if (!c.isObject()) throw new FormatException(file, "config is not a JSON object");
        String type = c.path("model_type").asText("");
        if (type.equals("gemma3")) {
            throw new FormatException(file, "model_type 'gemma3' is the multimodal Gemma 3; only its text model (model_type 'gemma3_text') is supported");
        }
        if (!ARCHITECTURES.contains(type)) {
            throw new FormatException(file, "unknown model_type '" + type + "' (supported: " + String.join(", ", ARCHITECTURES.stream().sorted().toList()) + ")");
        }
        Keys keys = new Keys(file);
        int d = keys.requiredInt(c, "hidden_size");
        int heads = keys.requiredInt(c, "num_attention_heads");
        int kvHeads = keys.optionalInt(c, "num_key_value_heads", heads);
        boolean gemma = type.startsWith("gemma");
        int headDim = keys.optionalInt(c, "head_dim", gemma ? 256 : d / heads);
        int maxPositions = keys.optionalInt(c, "max_position_embeddings", 2048);
        boolean bias = type.equals("qwen2") || type.equals("qwen2_moe") || c.path("attention_bias").asBoolean(false);
        try {
            RopeConfig rope = rope(keys, c, headDim, maxPositions);
            int layers = keys.requiredInt(c, "num_hidden_layers");
            return new ModelConfig(type, d, keys.requiredInt(c, "intermediate_size"), layers,
                    heads, kvHeads, headDim, keys.requiredInt(c, "vocab_size"), maxPositions,
                    (float) keys.positive(c, "rms_norm_eps", 1e-6), rope, c.path("tie_word_embeddings").asBoolean(gemma),
                    bias, Set.of("qwen3", "qwen3_moe", "olmoe", "gemma3_text").contains(type)).withVariant(variant(keys, c, type, layers)).withMoe(moe(keys, c, type));
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage());
        }
    }

    /** Gemma's departures from the Llama layer and every model's sliding window, with transformers' defaults. */
    private static DecoderVariant variant(Keys keys, JsonNode c, String type, int layers) {
        if (type.equals("qwen2") && c.path("use_sliding_window").asBoolean(false)) {
            throw new FormatException(keys.file, "qwen2 with use_sliding_window=true (max_window_layers) is not supported");
        }
        int window = c.hasNonNull("sliding_window") ? keys.requiredInt(c, "sliding_window") : 0;
        if (!type.startsWith("gemma")) return window == 0 || type.equals("qwen2") ? DecoderVariant.LLAMA : DecoderVariant.LLAMA.withSlidingWindow(window, 0);
        String act = c.path("hidden_activation").asText(c.path("hidden_act").asText("gelu_pytorch_tanh"));
        if (!Set.of("gelu_pytorch_tanh", "gelu_tanh").contains(act)) {
            throw new FormatException(keys.file, "hidden_activation '" + act + "' is not supported (gelu_pytorch_tanh)");
        }
        boolean gemma2 = type.equals("gemma2");
        double queryScalar = keys.positive(c, "query_pre_attn_scalar", 256);
        float attentionCap = (float) (c.has("attn_logit_softcapping") ? cap(keys, c, "attn_logit_softcapping") : gemma2 ? 50 : 0);
        float finalCap = (float) (c.has("final_logit_softcapping") ? cap(keys, c, "final_logit_softcapping") : gemma2 ? 30 : 0);
        if (!c.hasNonNull("sliding_window")) window = 4096;
        int globalEvery = gemma2 ? 2 : globalEvery(keys, c, layers);
        RopeConfig local = gemma2 ? null : RopeConfig.plain(keys.positive(c, "rope_local_base_freq", 10000), false);
        return new DecoderVariant(true, DecoderVariant.Activation.GELU_TANH, true, queryScalar, attentionCap, finalCap, window, globalEvery, local);
    }

    private static double cap(Keys keys, JsonNode c, String key) {
        return c.get(key).isNull() ? 0 : keys.positive(c, key, Double.NaN);
    }

    /**
     * Gemma 3's pattern of sliding and global layers: layer_types (transformers 4.53+) when given, which must be every
     * n-th layer global, else sliding_window_pattern (default 6).
     */
    private static int globalEvery(Keys keys, JsonNode c, int layers) {
        JsonNode types = c.path("layer_types");
        if (!types.isArray()) return keys.optionalInt(c, "sliding_window_pattern", 6);
        List<Integer> global = new ArrayList<>();
        for (int l = 0; l < types.size(); l++) {
            String t = types.get(l).asText();
            if (t.equals("full_attention")) global.add(l);
            else if (!t.equals("sliding_attention")) throw new FormatException(keys.file, "layer_types[" + l + "] '" + t + "' is not supported");
        }
        int every = global.isEmpty() ? 0 : global.get(0) + 1;
        for (int l = 0; l < types.size(); l++) {
            if (types.size() != layers || every == 0 || global.contains(l) != ((l + 1) % every == 0)) {
                throw new FormatException(keys.file, "layer_types must list " + layers + " layers with every n-th one full_attention");
            }
        }
        return every;
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
            case "longrope", "su" -> longRope(keys, r, c, rotaryDim == 0 ? headDim : rotaryDim, maxPositions);
            default -> throw new FormatException(keys.file, "unsupported rope type '" + type + "' (supported: default, linear, llama3, yarn, dynamic, longrope)");
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

    /**
     * Phi-3's longrope: short_factor and long_factor (one per rotated pair), original_max_position_embeddings (top
     * level in Phi-3 configs, or in rope_scaling), attention_factor or HF's default from the two lengths.
     */
    private static RopeConfig.LongRope longRope(Keys keys, JsonNode r, JsonNode c, int rotated, int maxPositions) {
        int original = r.hasNonNull("original_max_position_embeddings") ? keys.requiredInt(r, "original_max_position_embeddings")
                : keys.requiredInt(c, "original_max_position_embeddings");
        double attention = r.hasNonNull("attention_factor") ? keys.positive(r, "attention_factor", Double.NaN)
                : RopeConfig.LongRope.defaultAttentionFactor(maxPositions, original);
        return new RopeConfig.LongRope(factors(keys, r, "short_factor", rotated / 2), factors(keys, r, "long_factor", rotated / 2), original, attention);
    }

    private static float[] factors(Keys keys, JsonNode r, String key, int n) {
        JsonNode a = r.get(key);
        if (a == null || !a.isArray()) throw new FormatException(keys.file, "key '" + key + "' is missing");
        if (a.size() != n) throw new FormatException(keys.file, "key '" + key + "' has " + a.size() + " factors, expected one per rotated pair (" + n + ")");
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) keys.positive(a, i, key);
        return f;
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

        /** Element i of array {@code key}: a finite number > 0. */
        double positive(JsonNode array, int i, String key) {
            JsonNode v = array.get(i);
            if (!v.isNumber() || !(v.asDouble() > 0) || Double.isInfinite(v.asDouble())) {
                throw new FormatException(file, "key '" + key + "'[" + i + "] must be a finite number > 0, got " + v);
            }
            return v.asDouble();
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
