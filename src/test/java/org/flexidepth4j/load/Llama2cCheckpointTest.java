package org.flexidepth4j.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.F32Matrix;
import org.flexidepth4j.tensor.Kernels;
import org.flexidepth4j.tensor.VectorOps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Real llama2.c checkpoints against float64 re-implementations of run.c (greedy ids, logits, per-token NLL). */
class Llama2cCheckpointTest {

    @ParameterizedTest
    @CsvSource({"models/stories260K/stories260K.bin, models/stories260K/stories260K_greedy_reference.json",
            "models/llama2xs-tinystories/model.bin, models/llama2xs-tinystories/model_greedy_reference.json"})
    void greedyDecodingMatchesRunC(String bin, String reference) {
        Model model = ModelLoader.load(Shared.path(bin));
        JsonNode ref = Json.read(Shared.path(reference));
        assertThat(model.format()).isEqualTo("llama2c");
        assertThat(model.tokenizer()).isNull();
        Transformer tf = model.transformer();
        int v = model.config().vocabSize();
        int[] want = ints(ref.get("tokens"));
        int[] argmax = ints(ref.get("argmax_per_pos"));
        int[] ids = new int[want.length];
        ids[0] = 1;
        InferenceState s = tf.newState(want.length);
        for (int t = 0; t + 1 < want.length; t++) {
            tf.forward(s, ids, t, 1, SkipPolicy.NONE, false);
            if (t < 2) assertLogits(Arrays.copyOf(s.logits(), 16), ref.get("logits_pos" + t + "_first16"), bin + " position " + t);
            ids[t + 1] = VectorOps.argmax(s.logits(), 0, v);
            assertThat(ids[t + 1]).as("%s argmax at position %d", bin, t).isEqualTo(argmax[t]);
        }
        assertThat(ids).isEqualTo(want);
    }

    @Test
    void perTokenNllMatchesReference() {
        Model model = ModelLoader.load(Shared.path("models/stories260K/stories260K.bin"));
        JsonNode ref = Json.read(Shared.path("models/stories260K/stories260K_ppl_reference_tinystories_part1.json"));
        Transformer tf = model.transformer();
        int v = model.config().vocabSize();
        for (JsonNode paragraph : ref.get("result").get("first_paragraphs")) {
            int[] ids = ints(paragraph.get("tokens"));
            double[] want = new double[paragraph.get("nll_per_token").size()];
            for (int i = 0; i < want.length; i++) want[i] = paragraph.get("nll_per_token").get(i).asDouble();
            assertThat(want).hasSize(ids.length - 1);
            InferenceState s = tf.newState(ids.length);
            tf.forward(s, ids, 0, ids.length, SkipPolicy.NONE, true);
            double sum = 0;
            for (int t = 0; t + 1 < ids.length; t++) {
                float[] logits = s.logits();
                double max = Double.NEGATIVE_INFINITY, z = 0;
                for (int j = 0; j < v; j++) max = Math.max(max, logits[t * v + j]);
                for (int j = 0; j < v; j++) z += Math.exp(logits[t * v + j] - max);
                double nll = Math.log(z) + max - logits[t * v + ids[t + 1]];
                assertThat(nll).as("paragraph %s token %d", paragraph.get("paragraph_index"), t).isCloseTo(want[t], org.assertj.core.data.Offset.offset(2e-5 + 1e-4 * want[t]));
                sum += nll;
            }
            assertThat(sum).isCloseTo(paragraph.get("sum_nll").asDouble(), org.assertj.core.data.Offset.offset(1e-4 * ids.length));
        }
    }

    @Test
    void quantizedModelsStayCloseToFloat() {
        Model model = ModelLoader.load(Shared.path("models/stories260K/stories260K.bin"));
        int[] ids = {1, 403, 407, 261, 378, 290, 318, 339};
        float[] want = logits(model, ids);
        for (DType dtype : new DType[] {DType.Q8_0, DType.Q4_0}) {
            Model q = ModelLoader.quantize(model, dtype);
            assertThat(q.transformer().weights().layers()[0].wq().dtype()).isEqualTo(dtype);
            assertThat(q.transformer().weights().lmHead()).isSameAs(q.transformer().weights().embedding());
            // w2 rows have 172 values, not whole blocks: left in float32
            assertThat(q.transformer().weights().layers()[0].wDown().dtype()).isEqualTo(DType.F32);
            Model dequantized = ModelLoader.withMatrices(q, m -> {
                float[] values = new float[m.rows() * m.cols()];
                for (int r = 0; r < m.rows(); r++) m.readRow(r, values, r * m.cols());
                return F32Matrix.of(values, m.rows(), m.cols());
            });
            float[] floatActivations;
            Kernels.setActivations(Kernels.Activations.F32);
            try {
                floatActivations = logits(q, ids);
            } finally {
                Kernels.setActivations(Kernels.Activations.Q8);
            }
            // With float activations the quantized kernels in the whole forward pass = float32 arithmetic on the dequantized weights.
            assertThat(relativeError(floatActivations, logits(dequantized, ids))).as("%s vs dequantized", dtype).isLessThan(1e-4);
            // Quantization error of this tiny (dim 64) model, measured: Q8_0 1.7%, Q4_0 27% of the largest logit.
            assertThat(relativeError(floatActivations, want)).as("%s vs float", dtype).isLessThan(dtype == DType.Q8_0 ? 0.03 : 0.4);
            // Activations rounded to 8 bits as well (the default decode of Q8_0 / Q4_0; 8 tokens are below
            // Matrix.GEMM_MIN_TOKENS, so every matmul is a decode one), measured: 1.9% from the float activations for
            // both, 2.5% (Q8_0) and 27% (Q4_0) from the float model.
            float[] int8Activations = logits(q, ids);
            assertThat(relativeError(int8Activations, floatActivations)).as("%s q8 vs f32 activations", dtype).isLessThan(0.05);
            assertThat(relativeError(int8Activations, want)).as("%s q8 activations vs float", dtype).isLessThan(dtype == DType.Q8_0 ? 0.05 : 0.4);
        }
    }

    private static double relativeError(float[] got, float[] want) {
        double maxRef = 0, maxErr = 0;
        for (int i = 0; i < want.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(want[i]));
            maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
        }
        return maxErr / maxRef;
    }

    private static float[] logits(Model model, int[] ids) {
        InferenceState s = model.transformer().newState(ids.length);
        model.transformer().forward(s, ids, 0, ids.length, SkipPolicy.NONE, true);
        return Arrays.copyOf(s.logits(), ids.length * model.config().vocabSize());
    }

    @Test
    void configFromHeader() {
        ModelConfig c = Llama2cCheckpoint.open(Shared.path("models/stories260K/stories260K.bin")).config();
        assertThat(c.hiddenSize()).isEqualTo(64);
        assertThat(c.intermediateSize()).isEqualTo(172);
        assertThat(c.numLayers()).isEqualTo(5);
        assertThat(c.numKvHeads()).isEqualTo(4);
        assertThat(c.vocabSize()).isEqualTo(512);
        assertThat(c.maxPositions()).isEqualTo(512);
        assertThat(c.tiedEmbeddings()).isTrue();
        assertThat(c.rope().interleaved()).isTrue();
    }

    @Test
    void rejectsTruncatedAndLyingFiles(@TempDir Path dir) throws IOException {
        byte[] good = Files.readAllBytes(Shared.path("models/stories260K/stories260K.bin"));
        Path truncated = dir.resolve("truncated.bin");
        Files.write(truncated, Arrays.copyOf(good, good.length - 4));
        assertThatThrownBy(() -> ModelLoader.load(truncated)).isInstanceOf(FormatException.class).hasMessageContaining("implies").hasMessageNotContaining("\n");
        Path lying = dir.resolve("lying.bin");
        byte[] bad = good.clone();
        bad[8] = 6; // n_layers 5 -> 6
        Files.write(lying, bad);
        assertThatThrownBy(() -> ModelLoader.load(lying)).isInstanceOf(FormatException.class).hasMessageStartingWith(lying.toString());
        Path tiny = dir.resolve("tiny.bin");
        Files.write(tiny, new byte[10]);
        assertThatThrownBy(() -> ModelLoader.load(tiny)).isInstanceOf(FormatException.class).hasMessageContaining("too short");
        Path zeros = dir.resolve("zeros.bin");
        Files.write(zeros, new byte[64]);
        assertThatThrownBy(() -> ModelLoader.load(zeros)).isInstanceOf(FormatException.class).hasMessageContaining("invalid llama2.c header");
    }

    private static void assertLogits(float[] got, JsonNode want, String what) {
        double maxRef = 0, maxErr = 0;
        for (int i = 0; i < got.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(want.get(i).asDouble()));
            maxErr = Math.max(maxErr, Math.abs(got[i] - want.get(i).asDouble()));
        }
        assertThat(maxErr / maxRef).as("%s relative logit error", what).isLessThan(1e-4);
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }
}
