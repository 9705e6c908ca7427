package org.flexidepth4j.skip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ParityAssert;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.junit.jupiter.api.Test;

/** Static removal by Block Influence, random skipping, early exit, and the --skip mode parser. */
class BaselinePoliciesTest {
    static final Path DIR = Shared.path("fixtures/flexidepth-llama3");
    final Model model = ModelLoader.load(DIR);
    final ModelConfig c = model.config();
    final Transformer tf = model.transformer();
    final int[] ids = SafeTensors.open(DIR.resolve("reference.safetensors")).get("ids_b").toInts();
    final int n = ids.length;
    final long d = c.hiddenSize(), kv = 2 * d * c.kvDim(), full = kv + 2 * d * c.queryDim() + 3 * d * c.intermediateSize();

    @Test
    void blockInfluenceIsZeroForARemovedLayerAndTheSameInBatchOrTokenByToken() {
        double[] bi = StaticRemoval.blockInfluence(tf, SkipPolicy.NONE, ids);
        for (double b : bi) assertThat(b).isBetween(1e-4, 2.0);

        StaticRemoval without2 = new StaticRemoval(new boolean[] {false, false, true, false, false, false});
        double[] removed = StaticRemoval.blockInfluence(tf, without2, ids);
        assertThat(removed[2]).isCloseTo(0, within(1e-6));
        assertThat(removed[0]).isCloseTo(bi[0], within(1e-9)); // layers before the removed one are unchanged
        assertThat(removed[1]).isCloseTo(bi[1], within(1e-9));

        StaticRemoval.Meter meter = new StaticRemoval.Meter(SkipPolicy.NONE, c.numLayers(), c.hiddenSize());
        InferenceState s = tf.newState(n);
        for (int t = 0; t < n; t++) tf.forward(s, ids, t, 1, meter, false);
        double[] stepped = meter.influence();
        for (int l = 0; l < bi.length; l++) assertThat(stepped[l]).as("layer " + l).isCloseTo(bi[l], within(1e-5));
    }

    @Test
    void staticRemovalDropsTheLowestInfluenceLayersAndTheirWork() {
        assertThat(StaticRemoval.lowestInfluence(new double[] {0.5, 0.1, 0.3, 0.1, 0.9}, 3).removedLayers()).containsExactly(1, 2, 3);
        assertThatThrownBy(() -> StaticRemoval.lowestInfluence(new double[3], 3)).isInstanceOf(IllegalArgumentException.class);

        double[] bi = StaticRemoval.blockInfluence(tf, SkipPolicy.NONE, ids);
        StaticRemoval policy = StaticRemoval.byBlockInfluence(tf, ids, 2);
        int[] gone = policy.removedLayers();
        assertThat(gone).hasSize(2);
        for (int l = 0; l < bi.length; l++) {
            boolean isGone = l == gone[0] || l == gone[1];
            if (!isGone) assertThat(bi[l]).isGreaterThanOrEqualTo(Math.max(bi[gone[0]], bi[gone[1]]));
        }
        InferenceState s = tf.newState(n);
        tf.forward(s, ids, 0, n, policy, true);
        for (int l = 0; l < c.numLayers(); l++) {
            boolean isGone = l == gone[0] || l == gone[1];
            assertThat(s.work.layer(l)).as("layer " + l).isEqualTo(isGone ? 0 : n * full + attention(n));
            assertThat(s.gate(l, 0)).isEqualTo(-1f);
        }
        assertThat(s.layersUsed(n - 1)).isEqualTo(c.numLayers() - 2);
    }

    @Test
    void randomSkipFollowsItsDrawsComputesKeyValuesAndAgreesBatchVsDecode() {
        int[] routed = {3, 4, 5};
        RandomSkip policy = RandomSkip.onLayers(c.numLayers(), routed, 0.4, 11);
        InferenceState batch = tf.newState(n), step = tf.newState(n);
        tf.forward(batch, ids, 0, n, policy, true);
        long[] stepWork = new long[c.numLayers()];
        for (int t = 0; t < n; t++) {
            step.work.reset();
            tf.forward(step, ids, t, 1, policy, false);
            for (int l = 0; l < c.numLayers(); l++) stepWork[l] += step.work.layer(l);
            ParityAssert.assertClose(step.logits(), batch.logitsRow(t), 1e-5, "token " + t);
        }
        int skipped = 0;
        for (int l : routed) {
            long want = 0;
            for (int t = 0; t < n; t++) {
                boolean run = TokenDraw.uniform(11, l, t) >= 0.4;
                assertThat(batch.gate(l, t)).isEqualTo(run ? 1f : 0f);
                want += run ? full + 2L * (t + 1) * c.queryDim() : kv;
                if (!run) skipped++;
            }
            assertThat(batch.work.layer(l)).as("batch layer " + l).isEqualTo(want);
            assertThat(stepWork[l]).as("decode layer " + l).isEqualTo(want);
        }
        assertThat(skipped).isBetween(40, 115); // 192 draws at 0.4
        assertThat(batch.gate(0, 0)).isEqualTo(-1f);

        InferenceState dense = tf.newState(n), none = tf.newState(n);
        tf.forward(dense, ids, 0, n, SkipPolicy.NONE, true);
        tf.forward(none, ids, 0, n, RandomSkip.onLayers(c.numLayers(), routed, 0.0, 11), true);
        ParityAssert.assertClose(none.logits(), dense.logits(), 0, "random:0 is dense");
    }

    @Test
    void earlyExitRunsOnlyTheFirstLayers() {
        InferenceState s = tf.newState(n);
        tf.forward(s, ids, 0, n, new EarlyExit(2, c.numLayers()), true);
        for (int l = 0; l < c.numLayers(); l++) assertThat(s.work.layer(l)).isEqualTo(l < 2 ? n * full + attention(n) : 0);
        assertThat(s.layersUsed(5)).isEqualTo(2);
        assertThatThrownBy(() -> new EarlyExit(0, 6)).hasMessageContaining("1 <= L <= 6");
    }

    @Test
    void skipModesBuildEveryPolicyAndRejectBadModes() {
        assertThat(SkipModes.parse("default", model, null, 0)).isSameAs(model.defaultPolicy());
        assertThat(SkipModes.parse("none", model, null, 0)).isSameAs(SkipPolicy.NONE);
        assertThat(SkipModes.parse("flexidepth", model, null, 0)).isSameAs(model.defaultPolicy());
        assertThat(((FlexiDepth) SkipModes.parse("flexidepth:0.7", model, null, 0)).threshold()).isEqualTo(0.7);
        assertThat(((StaticRemoval) SkipModes.parse("static:2", model, ids, 0)).removedLayers()).hasSize(2);
        assertThat(SkipModes.parse("random:0.25", model, null, 0).plan(3)).isEqualTo(SkipPolicy.Plan.ROUTED);
        assertThat(SkipModes.parse("random:0.25", model, null, 0).plan(2)).isEqualTo(SkipPolicy.Plan.DENSE);
        assertThat(SkipModes.parse("exit:4", model, null, 0).plan(4)).isEqualTo(SkipPolicy.Plan.REMOVED);
        assertThat(routedLayers(SkipModes.parse("forced:0.5", model, null, 0))).containsExactly(3, 4, 5);

        Model base = model.withPolicy(SkipPolicy.NONE);
        assertThat(routedLayers(SkipModes.parse("forced:0.5", base, null, 0))).containsExactly(3, 4, 5);
        assertThatThrownBy(() -> SkipModes.parse("flexidepth", base, null, 0)).hasMessageContaining("no FlexiDepth routers");
        assertThatThrownBy(() -> SkipModes.parse("static:2", model, null, 0)).hasMessageContaining("needs a calibration text");
        assertThatThrownBy(() -> SkipModes.parse("static:x", model, ids, 0)).hasMessageContaining("not an integer");
        assertThatThrownBy(() -> SkipModes.parse("random:1.5", model, null, 0)).hasMessageContaining("0 <= P <= 1");
        assertThatThrownBy(() -> SkipModes.parse("exit:9", model, null, 0)).hasMessageContaining("1 <= L <= 6");
        assertThatThrownBy(() -> SkipModes.parse("sometimes", model, null, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown --skip mode 'sometimes' (expected " + SkipModes.USAGE + ")");
    }

    private int[] routedLayers(SkipPolicy policy) {
        return java.util.stream.IntStream.range(0, c.numLayers()).filter(l -> policy.plan(l) == SkipPolicy.Plan.ROUTED).toArray();
    }

    private long attention(int tokens) {
        long w = 0;
        for (int p = 0; p < tokens; p++) w += 2L * (p + 1) * c.queryDim();
        return w;
    }
}
