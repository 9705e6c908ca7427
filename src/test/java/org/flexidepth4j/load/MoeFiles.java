package org.flexidepth4j.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Gguf;
import org.flexidepth4j.io.GgufWriter;
import org.flexidepth4j.io.SafeTensorsWriter;

/**
 * Small random-weight mixture-of-experts models of each supported shape, the same weights as a GGUF file (which
 * llama.cpp also reads, with its 32000-token SentencePiece vocabulary) and as an HF directory (config.json +
 * model.safetensors, one tensor per expert). Hidden 128, 4 heads of 32, 2 layers, 4 experts of FFN 192, 2 per
 * token; weights are large (router std 0.3, LM head std 0.5) so expert and greedy choices are not near-ties.
 * Usage (writes the GGUF files llama.cpp's reference outputs were made from):
 * {@code java -cp target/classes:target/test-classes org.flexidepth4j.load.MoeFiles OUTDIR}.
 */
public final class MoeFiles {
    public static final int HIDDEN = 128, HEADS = 4, HEAD_DIM = 32, LAYERS = 2, EXPERTS = 4, PER_TOKEN = 2, EXPERT_FF = 192, SHARED_FF = 256;
    static final Path VOCABULARY = Shared.path("models/ggml-vocab/ggml-vocab-llama-spm.gguf");

    /** Each shape: its GGUF architecture, HF model_type, KV heads, and what sets it apart. */
    public enum Shape {
        /** Mixtral: llama with experts, interleaved RoPE in GGUF, top-k renormalised. */
        MIXTRAL("llama", "mixtral", 2),
        /** OLMoE: q/k norms over the whole projection, no renormalisation; llama.cpp's k norm spans n_embd, so no GQA. */
        OLMOE("olmoe", "olmoe", HEADS),
        /** Qwen2-MoE: q/k/v biases, a shared expert behind a sigmoid gate, no renormalisation. */
        QWEN2MOE("qwen2moe", "qwen2_moe", HEADS),
        /** Qwen3-MoE: per-head q/k norms, top-k renormalised (norm_topk_prob). */
        QWEN3MOE("qwen3moe", "qwen3_moe", 2);

        final String gguf, hf;
        final int kvHeads;

        Shape(String gguf, String hf, int kvHeads) {
            this.gguf = gguf;
            this.hf = hf;
            this.kvHeads = kvHeads;
        }
    }

    private record Tensor(float[] values, long[] shape) {
    }

    private static final Map<Shape, Path> WRITTEN = new java.util.EnumMap<>(Shape.class);
    private static Path directory;

    private MoeFiles() {
    }

    /** The GGUF file of shape {@code s}, written once per test JVM into a temporary directory removed at exit. */
    public static synchronized Path gguf(Shape s) throws IOException {
        if (directory == null) {
            directory = Files.createTempDirectory("moe-files");
            directory.toFile().deleteOnExit();
        }
        Path file = WRITTEN.get(s);
        if (file == null) {
            file = writeGguf(s, directory.resolve(s.name().toLowerCase() + ".gguf"));
            file.toFile().deleteOnExit();
            WRITTEN.put(s, file);
        }
        return file;
    }

    public static void main(String[] args) throws IOException {
        for (Shape s : Shape.values()) writeGguf(s, Path.of(args[0]).resolve(s.name().toLowerCase() + ".gguf"));
    }

    /** The tensors under GGUF names (shapes outermost first), the same for a given shape every time. */
    private static Map<String, Tensor> tensors(Shape s, int vocab) {
        int d = HIDDEN, qd = HEADS * HEAD_DIM, kvd = s.kvHeads * HEAD_DIM;
        Map<String, Tensor> t = new LinkedHashMap<>();
        long[] seed = {s.ordinal() * 1000L + 1};
        t.put("token_embd.weight", normal(seed[0]++, 1.0, vocab, d));
        for (int i = 0; i < LAYERS; i++) {
            String p = "blk." + i + ".";
            t.put(p + "attn_norm.weight", around1(seed[0]++, d));
            t.put(p + "attn_q.weight", normal(seed[0]++, 0.15, qd, d));
            t.put(p + "attn_k.weight", normal(seed[0]++, 0.15, kvd, d));
            t.put(p + "attn_v.weight", normal(seed[0]++, 0.1, kvd, d));
            t.put(p + "attn_output.weight", normal(seed[0]++, 0.1, d, qd));
            if (s == Shape.QWEN2MOE) {
                t.put(p + "attn_q.bias", normal(seed[0]++, 0.1, qd));
                t.put(p + "attn_k.bias", normal(seed[0]++, 0.1, kvd));
                t.put(p + "attn_v.bias", normal(seed[0]++, 0.1, kvd));
            }
            if (s == Shape.OLMOE) {
                t.put(p + "attn_q_norm.weight", around1(seed[0]++, qd));
                t.put(p + "attn_k_norm.weight", around1(seed[0]++, kvd));
            }
            if (s == Shape.QWEN3MOE) {
                t.put(p + "attn_q_norm.weight", around1(seed[0]++, HEAD_DIM));
                t.put(p + "attn_k_norm.weight", around1(seed[0]++, HEAD_DIM));
            }
            t.put(p + "ffn_norm.weight", around1(seed[0]++, d));
            t.put(p + "ffn_gate_inp.weight", normal(seed[0]++, 0.3, EXPERTS, d));
            t.put(p + "ffn_gate_exps.weight", normal(seed[0]++, 0.1, EXPERTS, EXPERT_FF, d));
            t.put(p + "ffn_up_exps.weight", normal(seed[0]++, 0.1, EXPERTS, EXPERT_FF, d));
            t.put(p + "ffn_down_exps.weight", normal(seed[0]++, 0.1, EXPERTS, d, EXPERT_FF));
            if (s == Shape.QWEN2MOE) {
                t.put(p + "ffn_gate_inp_shexp.weight", normal(seed[0]++, 0.1, d));
                t.put(p + "ffn_gate_shexp.weight", normal(seed[0]++, 0.1, SHARED_FF, d));
                t.put(p + "ffn_up_shexp.weight", normal(seed[0]++, 0.1, SHARED_FF, d));
                t.put(p + "ffn_down_shexp.weight", normal(seed[0]++, 0.1, d, SHARED_FF));
            }
        }
        t.put("output_norm.weight", around1(seed[0]++, d));
        t.put("output.weight", normal(seed[0]++, 0.5, vocab, d));
        return t;
    }

    /** The GGUF form, with llama.cpp's SentencePiece vocabulary. */
    public static Path writeGguf(Shape s, Path file) throws IOException {
        return writeGguf(s, file, false);
    }

    /** The GGUF form; {@code splitExperts}: one tensor per expert ({@code ffn_gate.E.weight}), as older Mixtral files. */
    public static Path writeGguf(Shape s, Path file, boolean splitExperts) throws IOException {
        Gguf vocabulary = Gguf.open(VOCABULARY);
        int vocab = vocabulary.getStringArray("tokenizer.ggml.tokens").length;
        String a = s.gguf + ".";
        GgufWriter w = new GgufWriter().put("general.architecture", s.gguf).put("general.name", "random " + s.hf)
                .put(a + "context_length", 512).put(a + "embedding_length", HIDDEN).put(a + "block_count", LAYERS)
                .put(a + "feed_forward_length", EXPERT_FF).put(a + "attention.head_count", HEADS).put(a + "attention.head_count_kv", s.kvHeads)
                .put(a + "attention.layer_norm_rms_epsilon", 1e-5f).put(a + "rope.freq_base", 10000f)
                .put(a + "expert_count", EXPERTS).put(a + "expert_used_count", PER_TOKEN);
        if (s == Shape.QWEN2MOE || s == Shape.QWEN3MOE) w.put(a + "expert_feed_forward_length", EXPERT_FF);
        if (s == Shape.QWEN2MOE) w.put(a + "expert_shared_feed_forward_length", SHARED_FF);
        w.putTokenizerOf(vocabulary);
        tensors(s, vocab).forEach((name, t) -> {
            if (!splitExperts || !name.endsWith("_exps.weight")) {
                w.tensor(name, t.values(), t.shape());
                return;
            }
            int per = (int) (t.shape()[1] * t.shape()[2]);
            for (int e = 0; e < EXPERTS; e++) {
                w.tensor(name.replace("_exps.", "." + e + "."), java.util.Arrays.copyOfRange(t.values(), e * per, (e + 1) * per), t.shape()[1], t.shape()[2]);
            }
        });
        return w.write(file);
    }

    /**
     * The HF form of the same weights: per-expert tensors under the model type's names, Mixtral's q/k rows back in
     * rotate-half order (GGUF llama files hold them permuted for interleaved pairs), a [1, hidden] shared gate.
     */
    public static Path writeHf(Shape s, Path dir) throws IOException {
        Files.createDirectories(dir);
        int vocab = Gguf.open(VOCABULARY).getStringArray("tokenizer.ggml.tokens").length;
        boolean mixtral = s == Shape.MIXTRAL;
        String config = """
                {"model_type": "%s", "hidden_size": %d, "intermediate_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d,
                 "num_key_value_heads": %d, "vocab_size": %d, "max_position_embeddings": 512, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                 "tie_word_embeddings": false, "%s": %d, "num_experts_per_tok": %d, "moe_intermediate_size": %d,
                 "shared_expert_intermediate_size": %d, "norm_topk_prob": %s}
                """.formatted(s.hf, HIDDEN, EXPERT_FF, LAYERS, HEADS, s.kvHeads, vocab, mixtral ? "num_local_experts" : "num_experts", EXPERTS,
                PER_TOKEN, EXPERT_FF, SHARED_FF, s == Shape.QWEN3MOE);
        Files.writeString(dir.resolve("config.json"), config);
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (var e : tensors(s, vocab).entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            if (name.equals("token_embd.weight")) w.addF32("model.embed_tokens.weight", t.values(), t.shape());
            else if (name.equals("output_norm.weight")) w.addF32("model.norm.weight", t.values(), t.shape());
            else if (name.equals("output.weight")) w.addF32("lm_head.weight", t.values(), t.shape());
            else layerTensor(s, name, t, w);
        }
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    private static void layerTensor(Shape s, String gguf, Tensor t, SafeTensorsWriter w) {
        int dot = gguf.indexOf('.', 4);
        String p = "model.layers." + gguf.substring(4, dot) + ".", suffix = gguf.substring(dot + 1);
        boolean mixtral = s == Shape.MIXTRAL;
        String block = mixtral ? "block_sparse_moe." : "mlp.";
        switch (suffix) {
            case "attn_q.weight" -> w.addF32(p + "self_attn.q_proj.weight", mixtral ? unpermute(t, HEADS) : t.values(), t.shape());
            case "attn_k.weight" -> w.addF32(p + "self_attn.k_proj.weight", mixtral ? unpermute(t, s.kvHeads) : t.values(), t.shape());
            case "ffn_gate_inp.weight" -> w.addF32(p + block + "gate.weight", t.values(), t.shape());
            case "ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight" -> {
                String kind = suffix.substring(4, suffix.indexOf('_', 4));
                String name = mixtral ? Map.of("gate", "w1", "up", "w3", "down", "w2").get(kind) : kind + "_proj";
                int per = (int) (t.shape()[1] * t.shape()[2]);
                for (int e = 0; e < EXPERTS; e++) {
                    float[] one = java.util.Arrays.copyOfRange(t.values(), e * per, (e + 1) * per);
                    w.addF32(p + block + "experts." + e + "." + name + ".weight", one, t.shape()[1], t.shape()[2]);
                }
            }
            case "ffn_gate_inp_shexp.weight" -> w.addF32(p + "mlp.shared_expert_gate.weight", t.values(), 1, HIDDEN);
            default -> w.addF32(p + Map.ofEntries(Map.entry("attn_norm.weight", "input_layernorm.weight"),
                    Map.entry("attn_v.weight", "self_attn.v_proj.weight"), Map.entry("attn_output.weight", "self_attn.o_proj.weight"),
                    Map.entry("attn_q.bias", "self_attn.q_proj.bias"), Map.entry("attn_k.bias", "self_attn.k_proj.bias"),
                    Map.entry("attn_v.bias", "self_attn.v_proj.bias"), Map.entry("attn_q_norm.weight", "self_attn.q_norm.weight"),
                    Map.entry("attn_k_norm.weight", "self_attn.k_norm.weight"), Map.entry("ffn_norm.weight", "post_attention_layernorm.weight"),
                    Map.entry("ffn_gate_shexp.weight", "mlp.shared_expert.gate_proj.weight"),
                    Map.entry("ffn_up_shexp.weight", "mlp.shared_expert.up_proj.weight"),
                    Map.entry("ffn_down_shexp.weight", "mlp.shared_expert.down_proj.weight")).get(suffix), t.values(), t.shape());
        }
    }

    /** GGUF row h*hd + 2j + c holds HF row h*hd + c*hd/2 + j (llama.cpp's converter permutes q/k for interleaved RoPE). */
    private static float[] unpermute(Tensor t, int heads) {
        int cols = (int) t.shape()[1], half = HEAD_DIM / 2;
        float[] out = new float[t.values().length];
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < half; j++) {
                for (int c = 0; c < 2; c++) {
                    System.arraycopy(t.values(), (h * HEAD_DIM + 2 * j + c) * cols, out, (h * HEAD_DIM + c * half + j) * cols, cols);
                }
            }
        }
        return out;
    }

    private static Tensor normal(long seed, double std, long... shape) {
        long n = 1;
        for (long x : shape) n *= x;
        float[] v = new float[(int) n];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < v.length; i++) v[i] = (float) (std * random.nextGaussian());
        return new Tensor(v, shape);
    }

    private static Tensor around1(long seed, int n) {
        Tensor t = normal(seed, 0.1, n);
        for (int i = 0; i < n; i++) t.values()[i] += 1f;
        return t;
    }
}
