package org.flexidepth4j.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.flexidepth4j.io.Gguf;
import org.flexidepth4j.io.GgufWriter;

/**
 * Writes the benchmark file of issue 18: a random-weight GGUF of the Llama-3.2-1B shape (hidden 2048, FFN 8192, 16
 * layers, 32/8 heads of 64, tied embeddings) with llama.cpp's 32000-token SentencePiece vocabulary, in BF16, for our
 * {@code bench} and llama.cpp's {@code llama-bench} alike ({@code llama-quantize} makes the other types from it).
 * Usage: {@code java -cp target/classes:target/test-classes org.flexidepth4j.bench.Llama1bGguf OUT.gguf VOCAB.gguf}.
 */
public final class Llama1bGguf {
    private Llama1bGguf() {
    }

    public static void main(String[] args) throws IOException {
        int d = 2048, ff = 8192, layers = 16, heads = 32, kvHeads = 8, headDim = 64;
        Gguf vocabulary = Gguf.open(Path.of(args[1]));
        int vocab = vocabulary.getStringArray("tokenizer.ggml.tokens").length;
        GgufWriter w = new GgufWriter().put("general.architecture", "llama").put("general.name", "random Llama-3.2-1B shape")
                .put("general.file_type", 32).put("llama.context_length", 4096).put("llama.embedding_length", d)
                .put("llama.block_count", layers).put("llama.feed_forward_length", ff).put("llama.rope.dimension_count", headDim)
                .put("llama.attention.head_count", heads).put("llama.attention.head_count_kv", kvHeads)
                .put("llama.attention.layer_norm_rms_epsilon", 1e-5f).put("llama.rope.freq_base", 500000f)
                .put("llama.vocab_size", vocab).putTokenizerOf(vocabulary);
        long[] seed = {1};
        w.tensor("token_embd.weight", GgufWriter.Type.BF16, normal(seed[0]++), vocab, d);
        for (int i = 0; i < layers; i++) {
            String p = "blk." + i + ".";
            w.tensor(p + "attn_norm.weight", GgufWriter.Type.F32, (s, v) -> java.util.Arrays.fill(v, 1f), d)
                    .tensor(p + "attn_q.weight", GgufWriter.Type.BF16, normal(seed[0]++), heads * headDim, d)
                    .tensor(p + "attn_k.weight", GgufWriter.Type.BF16, normal(seed[0]++), kvHeads * headDim, d)
                    .tensor(p + "attn_v.weight", GgufWriter.Type.BF16, normal(seed[0]++), kvHeads * headDim, d)
                    .tensor(p + "attn_output.weight", GgufWriter.Type.BF16, normal(seed[0]++), d, heads * headDim)
                    .tensor(p + "ffn_norm.weight", GgufWriter.Type.F32, (s, v) -> java.util.Arrays.fill(v, 1f), d)
                    .tensor(p + "ffn_gate.weight", GgufWriter.Type.BF16, normal(seed[0]++), ff, d)
                    .tensor(p + "ffn_up.weight", GgufWriter.Type.BF16, normal(seed[0]++), ff, d)
                    .tensor(p + "ffn_down.weight", GgufWriter.Type.BF16, normal(seed[0]++), d, ff);
        }
        w.tensor("output_norm.weight", GgufWriter.Type.F32, (s, v) -> java.util.Arrays.fill(v, 1f), d);
        w.write(Path.of(args[0]));
    }

    /** N(0, 0.02) values, the same for a given tensor seed and flat index whatever the chunking. */
    private static GgufWriter.Values normal(long tensorSeed) {
        return (start, values) -> {
            SplittableRandom random = new SplittableRandom(tensorSeed * 1_000_003L + start);
            for (int i = 0; i < values.length; i++) values[i] = (float) (0.02 * random.nextGaussian());
        };
    }
}
