package org.flexidepth4j.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import org.flexidepth4j.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The test-scope writer's files read back through {@link Gguf}: every metadata kind and every tensor type. */
class GgufWriterTest {
    @TempDir
    Path dir;

    @Test
    void metadataAndTensorsOfEveryTypeReadBack() throws IOException {
        float[] values = new float[3 * 70_000];
        for (int i = 0; i < values.length; i++) values[i] = (i % 97 - 48) / 8f;
        Gguf vocabulary = Gguf.open(Path.of("../shared/models/ggml-vocab/ggml-vocab-llama-spm.gguf"));
        Path file = new GgufWriter().put("general.architecture", "llama").put("n", 7).put("x", 0.5f).put("b", true)
                .put("ints", new int[] {1, -2}).put("floats", new float[] {0.25f}).put("strings", new String[] {"a", "é"})
                .putTokenizerOf(vocabulary)
                .tensor("f32", values, 3, 70_000)
                .tensor("f16", GgufWriter.Type.F16, (start, chunk) -> System.arraycopy(values, (int) start, chunk, 0, chunk.length), 70_000, 3)
                .tensor("bf16", GgufWriter.Type.BF16, (start, chunk) -> System.arraycopy(values, (int) start, chunk, 0, chunk.length), 3 * 70_000)
                .write(dir.resolve("w.gguf"));
        Gguf g = Gguf.open(file);
        assertThat(g.getInt("n")).isEqualTo(7);
        assertThat(g.getFloat("x")).isEqualTo(0.5f);
        assertThat(g.getBoolean("b", false)).isTrue();
        assertThat(g.getIntArray("ints")).containsExactly(1, -2);
        assertThat(g.getFloatArray("floats")).containsExactly(0.25f);
        assertThat(g.getStringArray("strings")).containsExactly("a", "é");
        assertThat(g.getStringArray("tokenizer.ggml.tokens")).hasSize(32000).isEqualTo(vocabulary.getStringArray("tokenizer.ggml.tokens"));
        assertThat(g.getInt("tokenizer.ggml.bos_token_id")).isEqualTo(vocabulary.getInt("tokenizer.ggml.bos_token_id"));
        assertThat(g.tensor("f32").shape()).containsExactly(3, 70_000);
        assertThat(g.tensor("f16").dtype()).isEqualTo(DType.F16);
        assertThat(g.tensor("bf16").dtype()).isEqualTo(DType.BF16);
        // eighths of small integers are exact in all three types
        assertThat(g.tensor("f32").toFloats()).isEqualTo(values);
        assertThat(g.tensor("f16").toFloats()).isEqualTo(values);
        assertThat(g.tensor("bf16").toFloats()).isEqualTo(values);
    }
}
