package org.flexidepth4j.load;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Gguf;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.DecoderVariant;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.MoeConfig;
import org.flexidepth4j.model.RopeConfig;
import org.flexidepth4j.tensor.DType;

/**
 * A GGUF model file seen as a decoder: the config from {@code <arch>.*} metadata and the tensors under HF names, so
 * {@link WeightsLoader#fromTensors} reads it like any other checkpoint. GGUF llama weights
 * have Q/K rows permuted for interleaved RoPE pairs; qwen2/qwen3/gemma keep HF's rotate-half pairing. Gemma's norm
 * weights are stored as 1 + w (llama.cpp's converter adds the 1) and handed on as HF's w.
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
    /** Gemma's sandwich norms: its FFN input norm has its own HF name, since HF's post_attention_layernorm is the attention output's. */
    private static final Map<String, String> GEMMA_LAYER_NAMES = Map.of(
            "ffn_norm.weight", "pre_feedforward_layernorm.weight",
            "post_attention_norm.weight", "post_attention_layernorm.weight",
            "post_ffw_norm.weight", "post_feedforward_layernorm.weight");
    /** Phi-3's fused projections, under the names HF's Phi-3 checkpoints give them ({@link WeightsLoader} splits them). */
    private static final Map<String, String> PHI3_LAYER_NAMES = Map.of(
            "attn_qkv.weight", "self_attn.qkv_proj.weight",
            "ffn_up.weight", "mlp.gate_up_proj.weight");
    /** Architectures read, the mixture-of-experts ones (llama with experts is Mixtral) after the dense ones. */
    public static final Set<String> ARCHITECTURES = Set.of("llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3", "phi3", "olmoe", "qwen2moe", "qwen3moe");
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
        boolean gemma = arch.startsWith("gemma");
        Map<String, String> archNames = gemma ? GEMMA_LAYER_NAMES : arch.equals("phi3") ? PHI3_LAYER_NAMES : Map.of();
        Map<String, TensorEntry> tensors = new LinkedHashMap<>();
        for (TensorEntry t : gguf.tensors().values()) {
            String hf = hfName(t.name(), archNames);
            if (hf != null && gguf.unsupportedTensors().containsKey(t.name())) throw Gguf.unsupportedType(gguf.file(), t.name(), t.dtype().name());
            if (hf != null && gemma && hf.endsWith("norm.weight")) tensors.put(hf, minusOne(t, hf));
            else if (hf != null) tensors.put(hf, new TensorEntry(hf, t.dtype(), t.shape(), t.data(), t.file()));
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
            int layers = gguf.getInt(arch + ".block_count");
            ModelConfig config = new ModelConfig(arch, d, gguf.getInt(arch + ".feed_forward_length"), layers,
                    heads, gguf.getInt(arch + ".attention.head_count_kv", heads), headDim, vocab,
                    gguf.getInt(arch + ".context_length", 2048), gguf.getFloat(arch + ".attention.layer_norm_rms_epsilon", 1e-5f),
                    rope, !tensors.containsKey("lm_head.weight"), arch.equals("qwen2") || arch.equals("qwen2moe"),
                    Set.of("qwen3", "qwen3moe", "olmoe", "gemma3").contains(arch));
            return new GgufCheckpoint(config.withVariant(variant(gguf, arch, d / heads, layers)).withMoe(moe(gguf, arch, config.intermediateSize())), tensors);
        } catch (IllegalArgumentException e) {
            throw new FormatException(gguf.file(), e.getMessage());
        }
    }

    /**
     * What departs from the Llama layer, from the keys llama.cpp reads. GGUF has no query_pre_attn_scalar: llama.cpp
     * scales queries by 1/sqrt(hidden / heads) for the 27B Gemmas (46 layers in Gemma 2, 62 in Gemma 3) and by
     * 1/sqrt(head dim) otherwise, as their HF configs say; Gemma 3's sliding layers use RoPE base 10000, every sixth
     * layer is global.
     */
    private static DecoderVariant variant(Gguf gguf, String arch, int hiddenPerHead, int layers) {
        String window = arch + ".attention.sliding_window";
        return switch (arch) {
            case "gemma2" -> new DecoderVariant(true, DecoderVariant.Activation.GELU_TANH, true, layers == 46 ? hiddenPerHead : 0,
                    gguf.getFloat(arch + ".attn_logit_softcapping", 50f), gguf.getFloat(arch + ".final_logit_softcapping", 30f),
                    gguf.getInt(window, 4096), 2, null);
            case "gemma3" -> new DecoderVariant(true, DecoderVariant.Activation.GELU_TANH, true, layers == 62 ? hiddenPerHead : 0, 0, 0,
                    gguf.getInt(window), 6, RopeConfig.plain(10000, false));
            case "phi3" -> DecoderVariant.LLAMA.withSlidingWindow(gguf.getInt(window, phi3DefaultWindow(gguf, layers)), 0);
            default -> gguf.has(window) ? DecoderVariant.LLAMA.withSlidingWindow(gguf.getInt(window), 0) : DecoderVariant.LLAMA;
        };
    }

    /**
     * llama.cpp's window for Phi-3 files written before the key existed: 2047 for the 4k-context mini and medium (32
     * or 40 layers), none otherwise (the 128k models' windows exceed their contexts).
     */
    private static int phi3DefaultWindow(Gguf gguf, int layers) {
        return (layers == 32 || layers == 40) && gguf.getInt("phi3.context_length", 0) == 4096 ? 2047 : 0;
    }

    /** A Gemma norm stored as 1 + w, as HF's w (float32; exact for the weights near 1 that norms have). */
    private static TensorEntry minusOne(TensorEntry t, String hf) {
        float[] values = t.toFloats();
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) bytes.putFloat(v - 1f);
        return new TensorEntry(hf, DType.F32, t.shape(), MemorySegment.ofArray(bytes.array()), t.file());
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
        if (gguf.tensors().containsKey("rope_factors_long.weight") || gguf.tensors().containsKey("rope_factors_short.weight")) {
            if (scaling != RopeConfig.Scaling.NONE) {
                throw new FormatException(gguf.file(), "rope_factors_long/short together with " + p + "scaling.type " + type + " is not supported");
            }
            scaling = new RopeConfig.LongRope(gguf.tensor("rope_factors_short.weight").expectShape(dims / 2).toFloats(),
                    gguf.tensor("rope_factors_long.weight").expectShape(dims / 2).toFloats(),
                    gguf.getInt(p + "scaling.original_context_length"), gguf.getFloat(p + "scaling.attn_factor", 1f));
        }
        if (gguf.tensors().containsKey("rope_freqs.weight")) {
            if (scaling != RopeConfig.Scaling.NONE) {
                throw new FormatException(gguf.file(), "rope_freqs.weight together with " + p + "scaling.type " + type + " is not supported");
            }
            TensorEntry freqs = gguf.tensor("rope_freqs.weight").expectShape(dims / 2);
            scaling = new RopeConfig.FrequencyDivisors(freqs.toFloats());
        }
        return new RopeConfig(gguf.getFloat(p + "freq_base", 10000f), interleaved, dims == headDim ? 0 : dims, scaling);
    }

    private static String hfName(String gguf, Map<String, String> archNames) {
        switch (gguf) {
            case "token_embd.weight": return "model.embed_tokens.weight";
            case "output_norm.weight": return "model.norm.weight";
            case "output.weight": return "lm_head.weight";
            default:
        }
        if (!gguf.startsWith("blk.")) return null;
        int dot = gguf.indexOf('.', 4);
        String layer = gguf.substring(4, dot);
        String name = gguf.substring(dot + 1);
        String suffix = archNames.getOrDefault(name, LAYER_NAMES.get(name));
        Matcher expert = SPLIT_EXPERT.matcher(name);
        if (suffix == null && expert.matches()) suffix = "mlp.experts." + expert.group(2) + "." + expert.group(1) + "_proj.weight";
        return suffix == null ? null : "model.layers." + layer + "." + suffix;
    }
}
