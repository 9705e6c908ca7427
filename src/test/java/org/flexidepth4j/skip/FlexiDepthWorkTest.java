package org.flexidepth4j.skip;

import static org.assertj.core.api.Assertions.assertThat;

import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.Transformer;
import org.junit.jupiter.api.Test;

/** The work counter proves a skipped token costs only K/V + router + adapter in its layer, nothing more. */
class FlexiDepthWorkTest {
    final Model model = ModelLoader.load(Shared.path("fixtures/flexidepth-llama3"));
    final ModelConfig c = model.config();
    final Transformer tf = model.transformer();
    final int n = 20;
    final int[] ids = java.util.stream.IntStream.range(0, n).map(i -> (i * 37 + 5) % c.vocabSize()).toArray();
    final long d = c.hiddenSize(), kv = 2 * d * c.kvDim(), router = 2 * d * (d / 16) + d, adapter = 3 * d * (c.intermediateSize() / 16);
    final long full = kv + 2 * d * c.queryDim() + 3 * d * c.intermediateSize();

    @Test
    void everyTokenSkippedCostsOnlyKeyValuesRouterAndAdapter() {
        FlexiDepth fd = ((FlexiDepth) model.defaultPolicy()).withThreshold(1.0); // g > 1 never holds: all skip
        InferenceState s = tf.newState(n);
        tf.forward(s, ids, 0, n, fd, true);
        for (int l = 0; l < c.numLayers(); l++) {
            long want = l >= 3 ? n * (kv + router + adapter) : n * full + attention(0, n);
            assertThat(s.work.layer(l)).as("layer " + l).isEqualTo(want);
        }
        for (int t = 0; t < n; t++) assertThat(s.layersUsed(t)).isEqualTo(3);
    }

    @Test
    void everyTokenRunCostsTheFullLayerPlusRouter() {
        ForcedSkip fd = new ForcedSkip(model.defaultPolicy(), 0.0, 1);
        InferenceState s = tf.newState(n);
        tf.forward(s, ids, 0, n, fd, true);
        for (int l = 0; l < c.numLayers(); l++) {
            long want = n * full + attention(0, n) + (l >= 3 ? n * router : 0);
            assertThat(s.work.layer(l)).as("layer " + l).isEqualTo(want);
        }
    }

    @Test
    void forcedRateOnRandomPluginSkipsExactlyTheDrawnTokensInBatchAndDecode() {
        int[] routed = {2, 4, 5};
        long seed = 7;
        ForcedSkip fd = new ForcedSkip(FlexiDepthTensor.randomInit(c, routed, 16, 16, 3, 0.02), 0.5, seed);
        InferenceState batch = tf.newState(n), step = tf.newState(n);
        tf.forward(batch, ids, 0, n, fd, true);
        long[] stepWork = new long[c.numLayers()];
        for (int t = 0; t < n; t++) {
            step.work.reset();
            tf.forward(step, ids, t, 1, fd, false);
            for (int l = 0; l < c.numLayers(); l++) stepWork[l] += step.work.layer(l);
            for (int l = 0; l < c.numLayers(); l++) {
                assertThat(step.gate(l, 0)).isCloseTo(batch.gate(l, t), org.assertj.core.data.Offset.offset(1e-6f));
            }
            assertThat(step.layersUsed(0)).isEqualTo(batch.layersUsed(t));
        }
        int skippedTotal = 0;
        for (int l = 0; l < c.numLayers(); l++) {
            boolean isRouted = l == 2 || l == 4 || l == 5;
            long want = 0;
            for (int t = 0; t < n; t++) {
                boolean run = !isRouted || TokenDraw.uniform(seed, l, t) >= 0.5;
                want += kv + (isRouted ? router : 0) + (run ? full - kv + 2L * (t + 1) * c.queryDim() : isRouted ? adapter : 0);
                if (!run) skippedTotal++;
            }
            assertThat(batch.work.layer(l)).as("batch layer " + l).isEqualTo(want);
            assertThat(stepWork[l]).as("decode layer " + l).isEqualTo(want);
        }
        assertThat(skippedTotal).isBetween(10, 50); // 60 draws at rate 0.5: both run and skip paths exercised
        // batch and token-by-token agree on the logits of the last token too
        float[] last = java.util.Arrays.copyOfRange(batch.logits(), (n - 1) * c.vocabSize(), n * c.vocabSize());
        org.flexidepth4j.model.ParityAssert.assertClose(step.logits(), last, 1e-5, "forced skip batch vs decode");
    }

    @Test
    void aDecodeStepReadsEachWeightItUsesOnceAndTheCacheItAttendsTo() {
        FlexiDepth fd = ((FlexiDepth) model.defaultPolicy()).withThreshold(1.0); // all skip in layers 3-5
        InferenceState s = tf.newState(n);
        long f32 = Float.BYTES, routerNorm = d / 16 * f32;
        for (int t = 0; t < n; t++) {
            s.work.reset();
            tf.forward(s, ids, t, 1, fd, false);
            for (int l = 0; l < c.numLayers(); l++) {
                long want = l >= 3 ? f32 * (kv + router + adapter) + routerNorm : f32 * full + 2L * (t + 1) * c.kvDim() * f32;
                assertThat(s.work.layerBytes(l)).as("step %d layer %d", t, l).isEqualTo(want);
            }
            assertThat(s.work.layerBytes(c.numLayers())).isEqualTo(f32 * c.vocabSize() * d);
        }
    }

    private long attention(int from, int to) {
        long w = 0;
        for (int p = from; p < to; p++) w += 2L * (p + 1) * c.queryDim();
        return w;
    }
}
