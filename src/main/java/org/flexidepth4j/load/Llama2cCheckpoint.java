package org.flexidepth4j.load;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.MappedFile;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.RopeConfig;
import org.flexidepth4j.tensor.DType;

/**
 * A llama2.c checkpoint (run.c's legacy .bin): a header of 7 int32 (dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, vocab_size, seq_len; a negative vocab_size means the classifier is stored separately) and then the
 * float32 weights in run.c order. The weights are memory-mapped and exposed under HF tensor names, so {@link
 * WeightsLoader#fromTensors} reads them like any other checkpoint.
 */
public record Llama2cCheckpoint(ModelConfig config, Map<String, TensorEntry> tensors) {
    private static final int HEADER_BYTES = 7 * 4;
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static Llama2cCheckpoint open(Path file) {
        MemorySegment whole = MappedFile.map(file);
        if (whole.byteSize() < HEADER_BYTES) throw new FormatException(file, "too short for a llama2.c header (" + whole.byteSize() + " bytes)");
        int dim = whole.get(LE_INT, 0), hidden = whole.get(LE_INT, 4), layers = whole.get(LE_INT, 8);
        int heads = whole.get(LE_INT, 12), kvHeads = whole.get(LE_INT, 16), vocabField = whole.get(LE_INT, 20), seqLen = whole.get(LE_INT, 24);
        int vocab = Math.abs(vocabField);
        boolean shared = vocabField > 0;
        if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab <= 0 || seqLen <= 0 || vocabField == Integer.MIN_VALUE) {
            throw new FormatException(file, "invalid llama2.c header: dim=" + dim + " hidden_dim=" + hidden + " n_layers=" + layers + " n_heads=" + heads
                    + " n_kv_heads=" + kvHeads + " vocab_size=" + vocabField + " seq_len=" + seqLen);
        }
        if (dim % heads != 0 || heads % kvHeads != 0 || (dim / heads) % 2 != 0) {
            throw new FormatException(file, "inconsistent llama2.c header: dim=" + dim + " n_heads=" + heads + " n_kv_heads=" + kvHeads);
        }
        int headSize = dim / heads, kvDim = kvHeads * headSize;
        long expected = expectedBytes(dim, hidden, layers, kvDim, vocab, seqLen, headSize, shared);
        if (expected != whole.byteSize()) {
            throw new FormatException(file, "file has " + whole.byteSize() + " bytes but its header (dim=" + dim + " hidden_dim=" + hidden + " n_layers=" + layers
                    + " vocab_size=" + vocabField + " seq_len=" + seqLen + ") implies " + (expected < 0 ? "more than 2^63" : expected));
        }
        ModelConfig config = new ModelConfig("llama", dim, hidden, layers, heads, kvHeads, headSize, vocab, seqLen, 1e-5f,
                RopeConfig.plain(10000, true), shared, false, false);

        Layout out = new Layout(file, whole);
        out.add("model.embed_tokens.weight", vocab, dim);
        out.perLayer(layers, "input_layernorm.weight", dim);
        out.perLayer(layers, "self_attn.q_proj.weight", dim, dim);
        out.perLayer(layers, "self_attn.k_proj.weight", kvDim, dim);
        out.perLayer(layers, "self_attn.v_proj.weight", kvDim, dim);
        out.perLayer(layers, "self_attn.o_proj.weight", dim, dim);
        out.perLayer(layers, "post_attention_layernorm.weight", dim);
        out.perLayer(layers, "mlp.gate_proj.weight", hidden, dim);
        out.perLayer(layers, "mlp.down_proj.weight", dim, hidden);
        out.perLayer(layers, "mlp.up_proj.weight", hidden, dim);
        out.add("model.norm.weight", dim);
        out.skip((long) seqLen * headSize); // freq_cis_real and freq_cis_imag: RoPE tables we compute ourselves
        if (!shared) out.add("lm_head.weight", vocab, dim);
        return new Llama2cCheckpoint(config, out.tensors);
    }

    /**
     * Bytes the header implies, summed with overflow checks before anything is sized by it (a huge n_layers must
     * fail here, not loop); -1 past 2^63.
     */
    private static long expectedBytes(long dim, long hidden, long layers, long kvDim, long vocab, long seqLen, long headSize, boolean shared) {
        try {
            long perLayer = Math.addExact(Math.addExact(2 * dim, Math.multiplyExact(2 * dim, dim + kvDim)), Math.multiplyExact(3 * dim, hidden));
            long floats = Math.addExact(Math.multiplyExact(vocab, dim), Math.multiplyExact(layers, perLayer));
            floats = Math.addExact(Math.addExact(floats, dim), Math.multiplyExact(seqLen, headSize));
            if (!shared) floats = Math.addExact(floats, Math.multiplyExact(vocab, dim));
            return Math.addExact(HEADER_BYTES, Math.multiplyExact(floats, 4L));
        } catch (ArithmeticException e) {
            return -1;
        }
    }

    /** Walks the float32 payload in file order, handing out named views. */
    private static final class Layout {
        final Path file;
        final MemorySegment whole;
        final Map<String, TensorEntry> tensors = new LinkedHashMap<>();
        long offset = HEADER_BYTES;

        Layout(Path file, MemorySegment whole) {
            this.file = file;
            this.whole = whole;
        }

        void add(String name, long... shape) {
            long floats = 1;
            for (long s : shape) floats = Math.multiplyExact(floats, s);
            long bytes = Math.multiplyExact(floats, 4L);
            tensors.put(name, new TensorEntry(name, DType.F32, shape, whole.asSlice(offset, bytes), file));
            offset += bytes;
        }

        void perLayer(int layers, String suffix, long... shape) {
            for (int i = 0; i < layers; i++) add("model.layers." + i + "." + suffix, shape);
        }

        void skip(long floats) {
            offset += Math.multiplyExact(floats, 4L);
        }
    }
}
