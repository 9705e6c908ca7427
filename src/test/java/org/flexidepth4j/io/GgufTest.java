package org.flexidepth4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.flexidepth4j.Shared;
import org.flexidepth4j.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufTest {
    @TempDir
    Path tmp;

    @Test
    void readsVocabOnlyFiles() {
        Gguf spm = Gguf.open(Shared.path("models/ggml-vocab/ggml-vocab-llama-spm.gguf"));
        assertThat(spm.version()).isEqualTo(3);
        assertThat(spm.getString("tokenizer.ggml.model")).isEqualTo("llama");
        assertThat(spm.getStringArray("tokenizer.ggml.tokens")).hasSize(32000);
        assertThat(spm.getFloatArray("tokenizer.ggml.scores")).hasSize(32000);
        assertThat(spm.getIntArray("tokenizer.ggml.token_type")).hasSize(32000);
        assertThat(spm.getStringArray("tokenizer.ggml.tokens")[1]).isEqualTo("<s>");
        assertThat(spm.tensors()).isEmpty();
        Gguf gpt2 = Gguf.open(Shared.path("models/ggml-vocab/ggml-vocab-gpt-2.gguf"));
        assertThat(gpt2.getString("tokenizer.ggml.model")).isEqualTo("gpt2");
        assertThat(gpt2.getStringArray("tokenizer.ggml.tokens")).hasSize(50257);
        assertThat(gpt2.getStringArray("tokenizer.ggml.merges")).hasSize(50000);
    }

    @Test
    void readsModelMetadataAndTensors() {
        Gguf g = Gguf.open(Shared.path("models/tinylm-12l-gguf/tinylm-12l-q8_0.gguf"));
        assertThat(g.architecture()).isEqualTo("llama");
        assertThat(g.getInt("llama.block_count")).isEqualTo(12);
        assertThat(g.getInt("llama.embedding_length")).isEqualTo(256);
        assertThat(g.getInt("llama.feed_forward_length")).isEqualTo(704);
        assertThat(g.getInt("llama.attention.head_count")).isEqualTo(4);
        assertThat(g.getInt("llama.attention.head_count_kv")).isEqualTo(2);
        TensorEntry up = g.tensor("blk.0.ffn_up.weight");
        assertThat(up.shape()).containsExactly(704, 256);
        assertThat(up.dtype()).isEqualTo(DType.Q8_0);
        assertThat(up.data().byteSize()).isEqualTo(704L * 256 / 32 * 34);
        TensorEntry norm = g.tensor("blk.0.attn_norm.weight");
        assertThat(norm.shape()).containsExactly(256);
        assertThat(norm.dtype()).isEqualTo(DType.F32);
        // attention norms of a trained model are positive, finite and not all equal
        float[] w = norm.toFloats();
        assertThat(Arrays.stream(toDoubles(w)).allMatch(Double::isFinite)).isTrue();
        assertThat(Arrays.stream(toDoubles(w)).distinct().count()).isGreaterThan(10);
        Gguf q4 = Gguf.open(Shared.path("models/tinylm-12l-gguf/tinylm-12l-q4_0.gguf"));
        assertThat(q4.tensor("blk.3.attn_q.weight").dtype()).isEqualTo(DType.Q4_0);
        assertThat(q4.tensor("blk.3.attn_q.weight").shape()).containsExactly(256, 256);
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    /** A tiny valid GGUF: two metadata keys and one 2x32 F32 tensor at data offset {@code tensorOffset}. */
    private static byte[] tinyGguf(int magic, long stringLen, long tensorOffset) {
        return tinyGguf(magic, stringLen, tensorOffset, 0);
    }

    private static byte[] tinyGguf(int magic, long stringLen, long tensorOffset, int ggmlType) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(magic).putInt(3).putLong(1).putLong(2);
        putString(b, "general.architecture", -1);
        b.putInt(8);
        putString(b, "llama", stringLen);
        putString(b, "llama.block_count", -1);
        b.putInt(4).putInt(7);
        putString(b, "w", -1);
        b.putInt(2).putLong(32).putLong(2).putInt(ggmlType).putLong(tensorOffset);
        while (b.position() % 32 != 0) b.put((byte) 0);
        for (int i = 0; i < 64; i++) b.putFloat(i);
        out.write(b.array(), 0, b.position());
        return out.toByteArray();
    }

    private static void putString(ByteBuffer b, String s, long lenOverride) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        b.putLong(lenOverride >= 0 ? lenOverride : bytes.length).put(bytes);
    }

    private Path write(String name, byte[] bytes) throws Exception {
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    @Test
    void readsHandMadeFile() throws Exception {
        Gguf g = Gguf.open(write("ok.gguf", tinyGguf(0x46554747, -1, 0)));
        assertThat(g.architecture()).isEqualTo("llama");
        assertThat(g.getInt("llama.block_count")).isEqualTo(7);
        assertThat(g.tensor("w").shape()).containsExactly(2, 32);
        assertThat(g.tensor("w").toFloats()[33]).isEqualTo(33f);
    }

    @Test
    void rejectsMalformedFiles() throws Exception {
        byte[] ok = tinyGguf(0x46554747, -1, 0);
        assertThatThrownBy(() -> Gguf.open(write("magic.gguf", tinyGguf(0x12345678, -1, 0))))
                .isInstanceOf(FormatException.class).hasMessageContaining("bad magic");
        assertThatThrownBy(() -> Gguf.open(write("trunc.gguf", Arrays.copyOf(ok, ok.length - 10))))
                .isInstanceOf(FormatException.class).hasMessageContaining("outside");
        assertThatThrownBy(() -> Gguf.open(write("trunc2.gguf", Arrays.copyOf(ok, 60))))
                .isInstanceOf(FormatException.class).hasMessageContaining("truncated");
        assertThatThrownBy(() -> Gguf.open(write("offset.gguf", tinyGguf(0x46554747, -1, 1L << 20))))
                .isInstanceOf(FormatException.class).hasMessageContaining("outside");
        assertThatThrownBy(() -> Gguf.open(write("unaligned.gguf", tinyGguf(0x46554747, -1, 4))))
                .isInstanceOf(FormatException.class).hasMessageContaining("aligned");
        assertThatThrownBy(() -> Gguf.open(write("string.gguf", tinyGguf(0x46554747, 1L << 40, 0))))
                .isInstanceOf(FormatException.class).hasMessageContaining("string length");
        Gguf mxfp4 = Gguf.open(write("mxfp4.gguf", tinyGguf(0x46554747, -1, 0, 39)));
        assertThat(mxfp4.unsupportedTensors()).containsEntry("w", "MXFP4");
        assertThatThrownBy(() -> mxfp4.tensor("w")).isInstanceOf(FormatException.class).hasMessageContaining("tensor w has type MXFP4, not supported");
        assertThat(Gguf.open(write("q4_1.gguf", tinyGguf(0x46554747, -1, 0, 3))).tensor("w").dtype()).isEqualTo(org.flexidepth4j.tensor.DType.Q4_1);
        assertThatThrownBy(() -> Gguf.open(write("type.gguf", tinyGguf(0x46554747, -1, 0, 99))))
                .isInstanceOf(FormatException.class).hasMessageContaining("unknown ggml type 99");
        assertThatThrownBy(() -> Gguf.open(tmp.resolve("missing.gguf")))
                .isInstanceOf(FormatException.class).hasMessageContaining("not found");
        assertThatThrownBy(() -> Gguf.open(write("ok2.gguf", ok)).getString("llama.block_count"))
                .isInstanceOf(FormatException.class).hasMessageContaining("expected a string");
    }
}
