package org.flexidepth4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.tensor.DType;
import org.junit.jupiter.api.Test;

/**
 * Continuous batching: a sequence decoded in a batch with others gets, bit for bit, the logits and layer choices
 * it gets decoded alone, whatever its neighbours' lengths and whoever joins or leaves between steps.
 */
class BatchedDecodeTest {
    private static final Model TINYLM = ModelLoader.load(Shared.path("models/tinylm-12l"));

    @Test
    void batchedRowsEqualSingleSequenceDecodeBitForBitWithFlexiDepthRouting() {
        assertBatchMatchesSingle(TINYLM, TINYLM.defaultPolicy());
    }

    @Test
    void batchedRowsEqualSingleSequenceDecodeOnQ8_0() {
        assertBatchMatchesSingle(ModelLoader.quantize(TINYLM, DType.Q8_0), SkipPolicy.NONE);
    }

    @Test
    void batchedRowsEqualSingleSequenceDecodeOnAMixtureOfExpertsWithFlexiDepthRouting() throws java.io.IOException {
        Model moe = ModelLoader.load(org.flexidepth4j.load.MoeFiles.gguf(org.flexidepth4j.load.MoeFiles.Shape.QWEN2MOE));
        assertBatchMatchesSingle(moe, org.flexidepth4j.skip.FlexiDepthTensor.randomInit(moe.config(), new int[] {1}, 16, 16, 5, 0.5));
    }

    @Test
    void refusesASequenceTwiceAndAFullContext() {
        Transformer tf = TINYLM.transformer();
        InferenceState a = tf.newState(4), batch = tf.newBatch(2);
        assertThatThrownBy(() -> tf.decode(batch, new InferenceState[] {a, a}, new int[] {1, 2}, 2, SkipPolicy.NONE))
                .hasMessageContaining("twice");
        tf.forward(a, new int[] {1, 2, 3, 4}, 0, 4, SkipPolicy.NONE, false);
        assertThatThrownBy(() -> tf.decode(batch, new InferenceState[] {a}, new int[] {1}, 1, SkipPolicy.NONE))
                .hasMessageContaining("context length");
        assertThatThrownBy(() -> tf.decode(batch, new InferenceState[] {tf.newState(8), tf.newState(8), tf.newState(8)}, new int[] {1, 2, 3}, 3, SkipPolicy.NONE))
                .hasMessageContaining("exceeds");
    }

    private static void assertBatchMatchesSingle(Model model, SkipPolicy policy) {
        // compiled kernels first: the Vector API's interpreted fallback reduces lanes in another order than compiled
        // code, so a call made before and one made after compilation could differ in the last bit
        for (int round = 0; round < WARM_ROUNDS; round++) compare(model, policy, false);
        compare(model, policy, true);
    }

    private static final int WARM_ROUNDS = Integer.getInteger("warmRounds", 20);

    private static void compare(Model model, SkipPolicy policy, boolean check) {
        Transformer tf = model.transformer();
        int vocab = tf.config().vocabSize();
        int sequences = 5, steps = 6;
        int[][] ids = new int[sequences][];
        InferenceState[] batched = new InferenceState[sequences], alone = new InferenceState[sequences];
        for (int s = 0; s < sequences; s++) {
            int prompt = 3 + 7 * s; // different lengths, so every row attends over a different prefix
            ids[s] = new int[prompt + steps];
            for (int i = 0; i < ids[s].length; i++) ids[s][i] = (int) ((i * 2654435761L + 977 * s + 13) % vocab);
            batched[s] = tf.newState(64);
            alone[s] = tf.newState(64);
            tf.forward(batched[s], ids[s], 0, prompt, policy, false);
            tf.forward(alone[s], ids[s], 0, prompt, policy, false);
        }
        InferenceState batch = tf.newBatch(sequences);
        for (int step = 0; step < steps; step++) {
            // membership changes between steps: sequence 0 leaves after step 2, sequence 4 joins at step 1
            int t = step;
            int[] members = java.util.stream.IntStream.range(0, sequences)
                    .filter(s -> !(s == 0 && t > 2) && !(s == sequences - 1 && t == 0)).toArray();
            InferenceState[] states = new InferenceState[members.length];
            int[] tokens = new int[members.length];
            for (int i = 0; i < members.length; i++) {
                int s = members[i];
                states[i] = batched[s];
                tokens[i] = ids[s][batched[s].length()];
            }
            tf.decode(batch, states, tokens, members.length, policy);
            for (int i = 0; i < members.length; i++) {
                int s = members[i];
                tf.forward(alone[s], ids[s], alone[s].length(), 1, policy, false);
                if (!check) continue;
                float[] single = Arrays.copyOf(alone[s].logits(), vocab);
                assertThat(Arrays.mismatch(batch.logitsRow(i), single)).as("first differing logit of sequence %d, step %d", s, step).isEqualTo(-1);
                assertThat(batch.layersUsed(i)).isEqualTo(alone[s].layersUsed(0));
                assertThat(batched[s].length()).isEqualTo(alone[s].length());
            }
        }
    }
}
