package org.flexidepth4j.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.flexidepth4j.load.GemmaTest.greedy;
import static org.flexidepth4j.load.GemmaTest.ints;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Gguf;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ParityAssert;
import org.flexidepth4j.model.RopeConfig;
import org.flexidepth4j.tensor.Rope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Phi-3 / Phi-3.5 / Phi-4-mini: fused qkv and gate_up split at load, longrope, sliding window, partial rotation.
 * llama.cpp (commit c392e509, CPU, F32 KV cache) ran {@link PhiCheckpoints#PHI35}'s GGUF with n_ctx 512 (beyond the
 * original 256: long factors) and 256 (short factors); phi3-llama-cpp-ctx*.json hold its greedy ids and logits.
 */
class PhiTest {
    @TempDir
    static Path tmp;
    static Model gguf;
    static int vocab;

    @BeforeAll
    static void writeCheckpoint() throws IOException {
        gguf = ModelLoader.load(PhiCheckpoints.gguf(PhiCheckpoints.PHI35, vocabulary(), tmp.resolve("phi35.gguf")));
        vocab = gguf.config().vocabSize();
    }

    static Gguf vocabulary() {
        return Gguf.open(Shared.path("models/ggml-vocab/ggml-vocab-llama-spm.gguf"));
    }

    @Test
    void phi35GgufGivesLlamaCppsGreedyIdsAndLogitsWithLongAndShortFactors() throws IOException {
        assertThat(gguf.config().rope().scaling()).isInstanceOf(RopeConfig.LongRope.class);
        assertThat(gguf.config().variant().slidingWindow()).isEqualTo(16);
        for (int context : new int[] {512, 256}) {
            JsonNode reference = GemmaTest.resource("phi3-llama-cpp-ctx" + context + ".json");
            int[] prompt = ints(reference.get("prompt"));
            GemmaTest.assertMatches(greedy(gguf.transformer(), prompt, reference.get("generated").size(), context), reference, 1e-4);
        }
    }

    @Test
    void phi35HfDirectoryGivesTheGgufsLogits() throws IOException {
        Model hf = ModelLoader.load(PhiCheckpoints.hf(PhiCheckpoints.PHI35, vocab, tmp.resolve("phi35-hf")));
        assertAgree(hf, gguf, 512);
        assertAgree(hf, gguf, 256);
    }

    /** Phi-4-mini's shape (llama.cpp at c392e509 cannot load its 12-factor longrope): HF and GGUF forms agree. */
    @Test
    void phi4MiniPartialRotationAgreesBetweenHfAndGguf() throws IOException {
        Model hf = ModelLoader.load(PhiCheckpoints.hf(PhiCheckpoints.PHI4_MINI, vocab, tmp.resolve("phi4-hf")));
        Model fromGguf = ModelLoader.load(PhiCheckpoints.gguf(PhiCheckpoints.PHI4_MINI, vocabulary(), tmp.resolve("phi4.gguf")));
        assertThat(hf.config().rope().rotaryDim()).isEqualTo(24);
        assertThat(hf.config().tiedEmbeddings()).isTrue();
        assertAgree(hf, fromGguf, 512);
    }

    static void assertAgree(Model a, Model b, int context) {
        int[] prompt = {1, 9038, 2501, 263, 931, 727, 471, 263, 2217, 7826, 1058, 10600, 297, 263, 5720, 2978, 278, 13569, 29889};
        GemmaTest.Run ra = greedy(a.transformer(), prompt, 20, context), rb = greedy(b.transformer(), prompt, 20, context);
        assertThat(ra.generated()).containsExactly(rb.generated());
        for (int p = 0; p < ra.logits().length - 1; p++) {
            assertThat(ParityAssert.relativeError(ra.logits()[p], 0, rb.logits()[p], 0, vocab)).as("position " + p).isLessThan(1e-5);
        }
    }

    /** A partial rotate-half rotation turns pairs (i, i + rotated/2) of the leading dimensions and leaves the rest. */
    @Test
    void partialRotateHalfRotatesTheLeadingPairsOnly() {
        RopeConfig config = new RopeConfig(10000, false, 4, RopeConfig.Scaling.NONE);
        Rope rope = config.tables(8, 8);
        float[] x = {1, 2, 3, 4, 5, 6, 7, 8};
        rope.rotate(x, 0, 1, 3, false);
        double a0 = 3 * 1.0, a1 = 3 * Math.pow(10000, -0.5);
        assertThat(x[0]).isCloseTo((float) (1 * Math.cos(a0) - 3 * Math.sin(a0)), org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(x[2]).isCloseTo((float) (3 * Math.cos(a0) + 1 * Math.sin(a0)), org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(x[1]).isCloseTo((float) (2 * Math.cos(a1) - 4 * Math.sin(a1)), org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(x[3]).isCloseTo((float) (4 * Math.cos(a1) + 2 * Math.sin(a1)), org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(new float[] {x[4], x[5], x[6], x[7]}).containsExactly(5, 6, 7, 8);
    }
}
