package org.flexidepth4j.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.tensor.VectorOps;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Logits and greedy ids of random-weight HF checkpoints against HF transformers' float32 output. */
class HfParityTest {

    @ParameterizedTest
    @ValueSource(strings = {"fixtures/hf-parity/llama3", "fixtures/hf-parity/qwen2", "models/tinylm-12l"})
    void fullSequenceAndIncrementalLogitsMatchReference(String dir) {
        Path path = Shared.path(dir);
        Model model = ModelLoader.load(path);
        SafeTensors ref = SafeTensors.open(path.resolve("reference.safetensors"));
        String[][] cases = ref.tensors().containsKey("ids_a") ? new String[][] {{"ids_a", "logits_a"}, {"ids_b", "logits_b"}} : new String[][] {{"ids", "logits"}};
        int v = model.config().vocabSize();
        for (String[] c : cases) {
            int[] ids = ref.get(c[0]).toInts();
            float[] want = ref.get(c[1]).toFloats();
            Transformer tf = model.transformer();
            InferenceState full = tf.newState(ids.length);
            tf.forward(full, ids, 0, ids.length, SkipPolicy.NONE, true);
            ParityAssert.assertClose(full.logits(), want, 1e-4, dir + " " + c[1] + " full sequence");

            InferenceState inc = tf.newState(ids.length);
            float[] stepped = new float[ids.length * v];
            for (int t = 0; t < ids.length; t++) {
                tf.forward(inc, ids, t, 1, SkipPolicy.NONE, false);
                System.arraycopy(inc.logits(), 0, stepped, t * v, v);
            }
            ParityAssert.assertClose(stepped, want, 1e-4, dir + " " + c[1] + " incremental");

            // A prompt of 8+ tokens after a cached prefix: the block attention with keys the chunk did not write.
            int split = ids.length - 8;
            assertThat(split).isPositive();
            InferenceState chunked = tf.newState(ids.length);
            float[] joined = new float[ids.length * v];
            tf.forward(chunked, ids, 0, split, SkipPolicy.NONE, true);
            System.arraycopy(chunked.logits(), 0, joined, 0, split * v);
            tf.forward(chunked, ids, split, ids.length - split, SkipPolicy.NONE, true);
            System.arraycopy(chunked.logits(), 0, joined, split * v, (ids.length - split) * v);
            ParityAssert.assertClose(joined, want, 1e-4, dir + " " + c[1] + " cached prefix + 8-token chunk");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"fixtures/hf-parity/llama3", "fixtures/hf-parity/qwen2"})
    void greedyContinuationIsIdentical(String dir) {
        Path path = Shared.path(dir);
        Model model = ModelLoader.load(path);
        SafeTensors ref = SafeTensors.open(path.resolve("reference.safetensors"));
        int[] ids = ref.get("ids_a").toInts();
        int[] want = ref.get("greedy_from_a").toInts();
        Transformer tf = model.transformer();
        InferenceState s = tf.newState(ids.length + want.length);
        tf.forward(s, ids, 0, ids.length, SkipPolicy.NONE, false);
        int[] got = new int[want.length];
        for (int i = 0; i < want.length; i++) {
            got[i] = VectorOps.argmax(s.logits(), 0, model.config().vocabSize());
            tf.forward(s, got, i, 1, SkipPolicy.NONE, false);
        }
        assertThat(got).isEqualTo(want);
    }
}
