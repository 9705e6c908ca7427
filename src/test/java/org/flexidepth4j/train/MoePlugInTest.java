package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.load.MoeFiles;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.skip.FlexiDepth;
import org.flexidepth4j.skip.FlexiDepthTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * FlexiDepth on mixture-of-experts models: the FlexiDepth router decides before the expert router, so a skipped
 * token runs its adapter and no expert (counted by the work counter); training's forward gives inference's loss on
 * every MoE shape, and a plug-in trained for a few steps lowers the loss.
 */
class MoePlugInTest {
    static final int N = 24;
    static final int[] IDS = java.util.stream.IntStream.range(0, N).map(i -> (i * 7919 + 1234) % 31000 + 500).toArray();

    @ParameterizedTest
    @EnumSource(MoeFiles.Shape.class)
    void trainingForwardGivesTheLossOfInference(MoeFiles.Shape shape) throws IOException {
        Model model = ModelLoader.load(MoeFiles.gguf(shape));
        Transformer t = model.transformer();
        InferenceState s = t.newState(N);
        t.forward(s, IDS, 0, N, SkipPolicy.NONE, true);
        int v = model.config().vocabSize();
        double want = 0;
        for (int i = 0; i + 1 < N; i++) {
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (int j = 0; j < v; j++) max = Math.max(max, s.logits()[i * v + j]);
            for (int j = 0; j < v; j++) z += Math.exp(s.logits()[i * v + j] - max);
            want += max + Math.log(z) - s.logits()[i * v + IDS[i + 1]];
        }
        want /= N - 1;
        TrainableDecoder net = TrainableDecoder.builder(model.config(), t.weights(), N).build();
        assertThat(net.forward(IDS, N)).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-4 * want));
    }

    @Test
    void aSkippedTokenRunsTheAdapterAndNoExpert() throws IOException {
        Model model = ModelLoader.load(MoeFiles.gguf(MoeFiles.Shape.QWEN2MOE));
        ModelConfig c = model.config();
        Transformer t = model.transformer();
        FlexiDepth plugIn = FlexiDepthTensor.randomInit(c, new int[] {1}, 16, 16, 3, 0.02);
        long d = c.hiddenSize(), kv = 2 * d * c.kvDim(), router = 2 * d * (d / 16) + d, adapter = 3 * d * (c.intermediateSize() / 16);
        int perToken = c.moe().expertsPerToken();

        InferenceState skipped = t.newState(N);
        t.forward(skipped, IDS, 0, N, plugIn.withThreshold(1.0), true); // g > 1 never holds: every token skips layer 1
        assertThat(skipped.work.expertRuns(0)).isEqualTo((long) N * perToken);
        assertThat(skipped.work.expertRuns(1)).isZero();
        assertThat(skipped.work.layer(1)).isEqualTo(N * (kv + router + adapter));

        InferenceState run = t.newState(N);
        t.forward(run, IDS, 0, N, plugIn.withThreshold(0.0), true); // every token runs
        assertThat(run.work.expertRuns(1)).isEqualTo((long) N * perToken);
        assertThat(run.work.layer(1)).isEqualTo(skipped.work.layer(0) + N * router);
    }

    @Test
    void plugInTrainingOnAMoeModelLowersTheLoss() throws IOException {
        Model model = ModelLoader.load(MoeFiles.gguf(MoeFiles.Shape.MIXTRAL));
        PlugIn plugIn = PlugIn.init(model.config(), new int[] {1}, 11);
        TrainableDecoder net = TrainableDecoder.builder(model.config(), model.transformer().weights(), N).skip(plugIn).build();
        assertThat(net.lowestBackwardLayer()).isEqualTo(1);
        AdamW opt = new AdamW(net.trainableParams(), 0.9f, 0.999f, 1e-8f, 0f);
        List<Double> losses = new ArrayList<>();
        for (int step = 0; step < 8; step++) {
            opt.zeroGrad();
            losses.add(net.forward(IDS, N));
            net.backward(1f);
            opt.update(1e-2f);
        }
        assertThat(losses.getLast()).isLessThan(losses.getFirst() - 0.1);
    }
}
