package org.flexidepth4j.load;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Arrays;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Gguf;
import org.flexidepth4j.model.DecoderVariant;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ParityAssert;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.tensor.VectorOps;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Gemma 2 against llama.cpp: a random-weight Gemma-2-shaped GGUF ({@link GemmaCheckpoints#GEMMA2}: 26 layers, sliding
 * window 16, attention soft-cap 10, final soft-cap 15) was run by llama.cpp (commit c392e509, CPU, F32 KV cache) on a
 * 19-token prompt and 40 greedy tokens; its ids and the logits of six positions (the first 512 vocabulary entries) are
 * in gemma2-llama-cpp.json (and gemma2-llama-cpp-exact-gelu.json, see {@link #LLAMA_CPP_TOLERANCE}). The prompt and generation run far past the window, so every sliding layer drops keys.
 */
class GemmaTest {
    /**
     * llama.cpp's CPU GELU reads a float16 table (GGML_GELU_FP16): its logits differ from an exact GELU's by up to
     * 1.7e-3 of the largest here. gemma2-llama-cpp-exact-gelu.json is the same run with ggml-cpu.c rebuilt without
     * that define (same greedy ids), the reference our logits meet at 1e-4.
     */
    static final double LLAMA_CPP_TOLERANCE = 5e-3;

    @TempDir
    static Path tmp;
    static JsonNode reference, exactGelu;

    static JsonNode resource(String name) throws IOException {
        try (InputStream in = GemmaTest.class.getResourceAsStream(name)) {
            return new ObjectMapper().readTree(in);
        }
    }
    static Model gguf;

    @BeforeAll
    static void writeCheckpoint() throws IOException {
        reference = resource("gemma2-llama-cpp.json");
        exactGelu = resource("gemma2-llama-cpp-exact-gelu.json");
        Gguf vocabulary = Gguf.open(Shared.path("models/ggml-vocab/ggml-vocab-llama-spm.gguf"));
        gguf = ModelLoader.load(GemmaCheckpoints.gguf(GemmaCheckpoints.GEMMA2, vocabulary, tmp.resolve("gemma2.gguf")));
    }

    /** The run llama.cpp made: prefill of the prompt, then one token at a time; logits of every position. */
    record Run(int[] generated, float[][] logits) {
    }

    static Run greedy(Transformer t, int[] prompt, int steps) {
        return greedy(t, prompt, steps, prompt.length + steps);
    }

    /** {@link #greedy} in a state of {@code context} positions (longrope picks its factors by it, as llama.cpp by n_ctx). */
    static Run greedy(Transformer t, int[] prompt, int steps, int context) {
        int vocab = t.config().vocabSize();
        InferenceState s = t.newState(context);
        float[][] logits = new float[prompt.length + steps][];
        t.forward(s, prompt, 0, prompt.length, SkipPolicy.NONE, true);
        for (int p = 0; p < prompt.length; p++) logits[p] = s.logitsRow(p);
        int[] generated = new int[steps];
        for (int g = 0; g < steps; g++) {
            int pos = prompt.length - 1 + g;
            generated[g] = VectorOps.argmax(logits[pos], 0, vocab);
            if (g == steps - 1) break;
            t.forward(s, generated, g, 1, SkipPolicy.NONE, false);
            logits[pos + 1] = s.logitsRow(0);
        }
        return new Run(generated, logits);
    }

    static int[] ints(JsonNode array) {
        int[] v = new int[array.size()];
        for (int i = 0; i < v.length; i++) v[i] = array.get(i).asInt();
        return v;
    }

    /** Greedy ids equal to llama.cpp's, logits within {@code tolerance} at the reference's positions. */
    static void assertMatches(Run run, JsonNode reference, double tolerance) {
        assertThat(run.generated()).containsExactly(ints(reference.get("generated")));
        int[] positions = ints(reference.get("positions"));
        int kept = reference.get("keptVocab").asInt();
        for (int i = 0; i < positions.length; i++) {
            float[] row = new float[kept];
            for (int j = 0; j < kept; j++) row[j] = (float) reference.get("logits").get(i).get(j).asDouble();
            assertThat(ParityAssert.relativeError(run.logits()[positions[i]], 0, row, 0, kept)).as("position " + positions[i]).isLessThan(tolerance);
        }
    }

    @Test
    void gemma2GgufGivesLlamaCppsGreedyIdsAndLogits() {
        int[] prompt = ints(reference.get("prompt"));
        Run run = greedy(gguf.transformer(), prompt, reference.get("generated").size());
        assertMatches(run, exactGelu, 1e-4);
        assertMatches(run, reference, LLAMA_CPP_TOLERANCE);
        assertThat(gguf.requireTokenizer().encode("Once upon a time there was a little girl who lived in a village near the forest."))
                .as("our tokenizer on the prompt llama.cpp tokenized").containsExactly(Arrays.copyOfRange(prompt, 1, prompt.length));
    }

    @Test
    void gemma2HfDirectoryGivesTheGgufsLogits() throws IOException {
        Model hf = ModelLoader.load(GemmaCheckpoints.hf(GemmaCheckpoints.GEMMA2, gguf.config().vocabSize(), tmp.resolve("gemma2-hf")));
        assertThat(hf.config().variant().attentionScale(32)).isEqualTo(gguf.config().variant().attentionScale(32));
        int[] prompt = ints(reference.get("prompt"));
        Run fromHf = greedy(hf.transformer(), prompt, 24), fromGguf = greedy(gguf.transformer(), prompt, 24);
        assertThat(fromHf.generated()).containsExactly(fromGguf.generated());
        for (int p = 0; p < fromHf.logits().length - 1; p++) {
            assertThat(ParityAssert.relativeError(fromHf.logits()[p], 0, fromGguf.logits()[p], 0, gguf.config().vocabSize())).isLessThan(1e-5);
        }
    }

    @Test
    void theSlidingWindowChangesWhatLaterPositionsSee() {
        int[] prompt = ints(reference.get("prompt"));
        DecoderVariant v = gguf.config().variant();
        Transformer global = new Transformer(gguf.config().withVariant(v.withSlidingWindow(0, 0)), gguf.transformer().weights());
        Run windowed = greedy(gguf.transformer(), prompt, 8), full = greedy(global, prompt, 8);
        int inWindow = v.slidingWindow() - 1, past = prompt.length - 1;
        assertThat(ParityAssert.relativeError(full.logits()[inWindow], 0, windowed.logits()[inWindow], 0, gguf.config().vocabSize())).isEqualTo(0);
        assertThat(ParityAssert.relativeError(full.logits()[past], 0, windowed.logits()[past], 0, gguf.config().vocabSize())).isGreaterThan(0.05);
    }

    /** Our logits of {@code run} (prompt then generated ids) against the double-precision reference at every position. */
    static void assertMatchesReference(GemmaCheckpoints.Shape shape, Run run, int[] prompt, int vocab) {
        int[] ids = Arrays.copyOf(prompt, prompt.length + run.generated().length - 1);
        System.arraycopy(run.generated(), 0, ids, prompt.length, run.generated().length - 1);
        double[][] want = new GemmaReference(shape, GemmaCheckpoints.tensors(shape, vocab, new java.util.HashMap<>()), vocab).logits(ids);
        for (int p = 0; p < ids.length; p++) {
            float[] row = new float[vocab];
            for (int j = 0; j < vocab; j++) row[j] = (float) want[p][j];
            assertThat(ParityAssert.relativeError(run.logits()[p], 0, row, 0, vocab)).as("position " + p).isLessThan(1e-4);
        }
    }

    @Test
    void gemma2MatchesTheDoublePrecisionReference() {
        int[] prompt = ints(reference.get("prompt"));
        assertMatchesReference(GemmaCheckpoints.GEMMA2, greedy(gguf.transformer(), prompt, 12), prompt, gguf.config().vocabSize());
    }

    /**
     * Gemma 3 (llama.cpp at c392e509 does not know it): the GGUF form (names and keys of later llama.cpp versions) and
     * the HF form give the same logits, and both the double-precision reference's: q/k norms, local RoPE base 10000 on
     * the sliding layers and 1000000 on every sixth, window 12, no soft-caps.
     */
    @Test
    void gemma3GgufAndHfFormsAgreeWithTheDoublePrecisionReference() throws IOException {
        GemmaCheckpoints.Shape shape = GemmaCheckpoints.GEMMA3;
        int vocab = gguf.config().vocabSize();
        Model fromGguf = ModelLoader.load(GemmaCheckpoints.gguf(shape, Gguf.open(Shared.path("models/ggml-vocab/ggml-vocab-llama-spm.gguf")),
                tmp.resolve("gemma3.gguf")));
        Model fromHf = ModelLoader.load(GemmaCheckpoints.hf(shape, vocab, tmp.resolve("gemma3-hf")));
        for (Model m : new Model[] {fromGguf, fromHf}) {
            assertThat(m.config().qkNorm()).isTrue();
            assertThat(m.config().rope(0).theta()).isEqualTo(GemmaCheckpoints.GEMMA3_LOCAL_THETA);
            assertThat(m.config().rope(5).theta()).isEqualTo(GemmaCheckpoints.GEMMA3_GLOBAL_THETA);
            assertThat(m.config().variant().slides(5)).isFalse();
            assertThat(m.config().variant().slides(6)).isTrue();
        }
        int[] prompt = ints(reference.get("prompt"));
        Run hf = greedy(fromHf.transformer(), prompt, 16), gg = greedy(fromGguf.transformer(), prompt, 16);
        assertThat(hf.generated()).containsExactly(gg.generated());
        for (int p = 0; p < hf.logits().length - 1; p++) {
            assertThat(ParityAssert.relativeError(gg.logits()[p], 0, hf.logits()[p], 0, vocab)).isLessThan(1e-5);
        }
        assertMatchesReference(shape, hf, prompt, vocab);
    }
}
