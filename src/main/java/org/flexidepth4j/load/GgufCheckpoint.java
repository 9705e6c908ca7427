package org.flexidepth4j.load;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Gguf;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.MoeConfig;
import org.flexidepth4j.model.RopeConfig;

/**
 * A GGUF model file seen as a decoder: the config from {@code <arch>.*} metadata and the tensors under HF names, so
 * {@link WeightsLoader#fromTensors} reads it like any other checkpoint. GGUF llama weights
 * have Q/K rows permuted for interleaved RoPE pairs; qwen2/qwen3 keep HF's rotate-half pairing.
 */
public record GgufCheckpoint(ModelConfig config, Map<String, TensorEntry> tensors) {
    private static final Map<String, String> LAYER_NAMES = Map.ofEntries(
            Map.entry("attn_norm.weight", "input_layernorm.weight"),
            Map.entry("attn_q.weight", "self_attn.q_proj.weight"),
            Map.entry("attn_k.weight", "self_attn.k_proj.weight"),
            Map.entry("attn_v.weight", "self_attn.v_proj.weight"),
            Map.entry("attn_output.weight", "self_attn.o_proj.weight"),
            Map.entry("attn_q.bias", "self_attn.q_proj.bias"),
            Map.entry("attn_k.bias", "self_attn.k_proj.bias"),
            Map.entry("attn_v.bias", "self_attn.v_proj.bias"),
            Map.entry("attn_q_norm.weight", "self_attn.q_norm.weight"),
            Map.entry("attn_k_norm.weight", "self_attn.k_norm.weight"),
            Map.entry("ffn_norm.weight", "post_attention_layernorm.weight"),
            Map.entry("ffn_gate.weight", "mlp.gate_proj.weight"),
            Map.entry("ffn_up.weight", "mlp.up_proj.weight"),
            Map.entry("ffn_down.weight", "mlp.down_proj.weight"),
            Map.entry("ffn_gate_inp.weight", "mlp.gate.weight"),
            Map.entry("ffn_gate_exps.weight", WeightsLoader.STACKED_EXPERTS + "gate_proj.weight"),
            Map.entry("ffn_up_exps.weight", WeightsLoader.STACKED_EXPERTS + "up_proj.weight"),
            Map.entry("ffn_down_exps.weight", WeightsLoader.STACKED_EXPERTS + "down_proj.weight"),
            Map.entry("ffn_gate_inp_shexp.weight", "mlp.shared_expert_gate.weight"),
            Map.entry("ffn_gate_shexp.weight", "mlp.shared_expert.gate_proj.weight"),
            Map.entry("ffn_up_shexp.weight", "mlp.shared_expert.up_proj.weight"),
            Map.entry("ffn_down_shexp.weight", "mlp.shared_expert.down_proj.weight"));
    /** Architectures read, the mixture-of-experts ones (llama with experts is Mixtral) after the dense ones. */
    public static final Set<String> ARCHITECTURES = Set.of("llama", "mistral", "qwen2", "qwen3", "olmoe", "qwen2moe", "qwen3moe");
    /** Older Mixtral files' one tensor per expert ({@code ffn_gate.3.weight}) instead of the stacked {@code _exps}. */
    private static final Pattern SPLIT_EXPERT = Pattern.compile("ffn_(gate|up|down)\\.(\\d+)\\.weight");
    /** The {@code <arch>.rope.*} keys {@link #rope} honours. */
    private static final Set<String> ROPE_KEYS = Set.of("freq_base", "dimension_count", "scale_linear", "scaling.type", "scaling.factor",
            "scaling.original_context_length", "scaling.attn_factor", "scaling.finetuned");

    public static GgufCheckpoint of(Gguf gguf) {
        String arch = gguf.architecture();
        if (!ARCHITECTURES.contains(arch)) {
            throw new FormatException(gguf.file(), "unknown architecture '" + arch + "' (supported: " + String.join(", ", ARCHITECTURES.stream().sorted().toList()) + ")");
        }
        Map<String, TensorEntry> tensors = new LinkedHashMap<>();
        for (TensorEntry t : gguf.tensors().values()) {
            String hf = hfName(t.name());
            if (hf != null && gguf.unsupportedTensors().containsKey(t.name())) throw Gguf.unsupportedType(gguf.file(), t.name(), t.dtype().name());
            if (hf != null) tensors.put(hf, new TensorEntry(hf, t.dtype(), t.shape(), t.data(), t.file()));
        }
        TensorEntry embedding = tensors.get("model.embed_tokens.weight");
        if (embedding == null) throw new FormatException(gguf.file(), "tensor token_embd.weight is missing");
        int d = gguf.getInt(arch + ".embedding_length");
        int heads = gguf.getInt(arch + ".attention.head_count");
        if (heads <= 0) throw new FormatException(gguf.file(), "metadata key " + arch + ".attention.head_count = " + heads + " must be > 0");
        int vocab = gguf.has(arch + ".vocab_size") ? gguf.getInt(arch + ".vocab_size") : (int) embedding.shape()[0];
        int headDim = gguf.getInt(arch + ".attention.key_length", d / heads);
        boolean interleaved = arch.equals("llama") || arch.equals("mistral"); // llama.cpp's NORM rope type; the rest are NEOX
        try {
            RopeConfig rope = rope(gguf, arch, headDim, interleaved);
            ModelConfig config = new ModelConfig(arch, d, gguf.getInt(arch + ".feed_forward_length"), gguf.getInt(arch + ".block_count"),
                    heads, gguf.getInt(arch + ".attention.head_count_kv", heads), headDim, vocab,
                    gguf.getInt(arch + ".context_length", 2048), gguf.getFloat(arch + ".attention.layer_norm_rms_epsilon", 1e-5f),
                    rope, !tensors.containsKey("lm_head.weight"), arch.equals("qwen2") || arch.equals("qwen2moe"),
                    Set.of("qwen3", "qwen3moe", "olmoe").contains(arch));
            return new GgufCheckpoint(config.withMoe(moe(gguf, arch, config.intermediateSize())), tensors);
        } catch (IllegalArgumentException e) {
            throw new FormatException(gguf.file(), e.getMessage());
        }
    }

    /**
     * The mixture of experts as llama.cpp reads it: {@code <arch>.expert_count} experts of {@code
     * expert_feed_forward_length} (else the FFN length; qwen2moe: FFN length / experts per token), renormalised over
     * the chosen ones for llama (Mixtral) and qwen3moe, not for olmoe and qwen2moe; qwen2moe's shared expert of
     * {@code expert_shared_feed_forward_length} (else the FFN length). Null for a dense file.
     */
    private static MoeConfig moe(Gguf gguf, String arch, int ff) {
        int experts = gguf.getInt(arch + ".expert_count", 0);
        if (experts == 0) {
            if (arch.endsWith("moe")) throw new FormatException(gguf.file(), "metadata key " + arch + ".expert_count is missing");
            return null;
        }
        if (!arch.equals("llama") && !arch.endsWith("moe")) throw new FormatException(gguf.file(), "architecture " + arch + " with experts is not supported");
        int perToken = gguf.getInt(arch + ".expert_used_count");
        int expertFf = gguf.getInt(arch + ".expert_feed_forward_length", arch.equals("qwen2moe") ? ff / Math.max(1, perToken) : ff);
        int shared = arch.equals("qwen2moe") ? gguf.getInt(arch + ".expert_shared_feed_forward_length", ff) : 0;
        return new MoeConfig(experts, perToken, expertFf, arch.equals("llama") || arch.equals("qwen3moe"), shared);
    }

    /**
     * RoPE from {@code <arch>.rope.*} and the {@code rope_freqs.weight} tensor, as llama.cpp reads them; a rope key
     * this method does not read is refused rather than ignored.
     */
    private static RopeConfig rope(Gguf gguf, String arch, int headDim, boolean interleaved) {
        String p = arch + ".rope.";
        for (String key : gguf.metadata().keySet()) {
            if (key.startsWith(p) && !ROPE_KEYS.contains(key.substring(p.length()))) {
                throw new FormatException(gguf.file(), "metadata key " + key + " is not supported (RoPE keys read: " + String.join(", ", ROPE_KEYS.stream().sorted().toList()) + ")");
            }
        }
        int dims = gguf.getInt(p + "dimension_count", headDim);
        if (dims <= 0 || dims > headDim) throw new FormatException(gguf.file(), "metadata key " + p + "dimension_count = " + dims + " is outside 1.." + headDim + " (head dim)");
        float factor = gguf.has(p + "scaling.factor") ? gguf.getFloat(p + "scaling.factor") : gguf.getFloat(p + "scale_linear", 0f);
        if (factor == 0) factor = 1; // llama.cpp: a factor of 0 (or none) means no scaling
        String type = gguf.getString(p + "scaling.type", "linear");
        RopeConfig.Scaling scaling = switch (type) {
            case "none" -> RopeConfig.Scaling.NONE;
            case "linear" -> factor == 1 ? RopeConfig.Scaling.NONE : new RopeConfig.Linear(factor);
            case "yarn" -> new RopeConfig.Yarn(factor, gguf.getInt(p + "scaling.original_context_length", gguf.getInt(arch + ".context_length", 2048)), 32, 1,
                    gguf.getFloat(p + "scaling.attn_factor", 1f) * RopeConfig.Yarn.defaultAttentionFactor(factor));
            default -> throw new FormatException(gguf.file(), "metadata key " + p + "scaling.type = '" + type + "' is not supported (none, linear, yarn)");
        };
        if (gguf.tensors().containsKey("rope_freqs.weight")) {
            if (scaling != RopeConfig.Scaling.NONE) {
                throw new FormatException(gguf.file(), "rope_freqs.weight together with " + p + "scaling.type " + type + " is not supported");
            }
            TensorEntry freqs = gguf.tensor("rope_freqs.weight").expectShape(dims / 2);
            scaling = new RopeConfig.FrequencyDivisors(freqs.toFloats());
        }
        return new RopeConfig(gguf.getFloat(p + "freq_base", 10000f), interleaved, dims == headDim ? 0 : dims, scaling);
    }

    private static String hfName(String gguf) {
        switch (gguf) {
            case "token_embd.weight": return "model.embed_tokens.weight";
            case "output_norm.weight": return "model.norm.weight";
            case "output.weight": return "lm_head.weight";
            default:
        }
        if (!gguf.startsWith("blk.")) return null;
        int dot = gguf.indexOf('.', 4);
        String layer = gguf.substring(4, dot);
        String suffix = LAYER_NAMES.get(gguf.substring(dot + 1));
        Matcher expert = SPLIT_EXPERT.matcher(gguf.substring(dot + 1));
        if (suffix == null && expert.matches()) suffix = "mlp.experts." + expert.group(2) + "." + expert.group(1) + "_proj.weight";
        return suffix == null ? null : "model.layers." + layer + "." + suffix;
    }
}
