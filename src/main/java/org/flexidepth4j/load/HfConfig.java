package org.flexidepth4j.load;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Set;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.RopeConfig;

/** Reads an HF config.json (both the legacy rope_theta/rope_scaling keys and the newer rope_parameters). */
public final class HfConfig {
    public static final Set<String> ARCHITECTURES = Set.of("llama", "mistral", "qwen2", "qwen3");

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
        int d = required(file, c, "hidden_size");
        int heads = required(file, c, "num_attention_heads");
        int kvHeads = c.has("num_key_value_heads") && !c.get("num_key_value_heads").isNull() ? c.get("num_key_value_heads").asInt() : heads;
        int headDim = c.has("head_dim") && !c.get("head_dim").isNull() ? c.get("head_dim").asInt() : d / heads;
        JsonNode ropeNode = c.has("rope_parameters") ? c.get("rope_parameters") : c.path("rope_scaling");
        double theta = c.has("rope_theta") ? c.get("rope_theta").asDouble() : ropeNode.path("rope_theta").asDouble(10000.0);
        String ropeType = ropeNode.isObject() ? ropeNode.path("rope_type").asText(ropeNode.path("type").asText("default")) : "default";
        if (!Set.of("default", "linear", "llama3").contains(ropeType)) throw new FormatException(file, "unsupported rope type '" + ropeType + "'");
        RopeConfig rope = new RopeConfig(theta, ropeType,
                ropeNode.path("factor").asDouble(1.0),
                ropeNode.path("low_freq_factor").asDouble(1.0),
                ropeNode.path("high_freq_factor").asDouble(4.0),
                ropeNode.path("original_max_position_embeddings").asInt(8192),
                false);
        boolean bias = type.equals("qwen2") || c.path("attention_bias").asBoolean(false);
        try {
            return new ModelConfig(type, d, required(file, c, "intermediate_size"), required(file, c, "num_hidden_layers"),
                    heads, kvHeads, headDim, required(file, c, "vocab_size"), c.path("max_position_embeddings").asInt(2048),
                    (float) c.path("rms_norm_eps").asDouble(1e-6), rope, c.path("tie_word_embeddings").asBoolean(false),
                    bias, type.equals("qwen3"));
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage());
        }
    }

    private static int required(Path file, JsonNode c, String key) {
        JsonNode v = c.get(key);
        if (v == null || !v.canConvertToInt() || v.asInt() <= 0) throw new FormatException(file, "missing or invalid key '" + key + "'");
        return v.asInt();
    }
}
