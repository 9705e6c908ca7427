package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ParityAssert;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.skip.FlexiDepth;
import org.flexidepth4j.skip.FlexiDepthFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Whole-model losses and gradients against float64 autograd references (fixtures/README.md). */
class ReferenceGradientsTest {

    @Test
    void denseModelGradientsOfEveryWeightMatchAutograd() {
        Path dir = Shared.path("fixtures/hf-parity/llama3");
        Model model = ModelLoader.load(dir);
        int[] ids = SafeTensors.open(dir.resolve("reference.safetensors")).get("ids_b").toInts();
        Map<String, TensorEntry> ref = SafeTensors.open(dir.resolve("reference.grads.safetensors")).tensors();
        TrainableDecoder net = TrainableDecoder.builder(model.config(), model.transformer().weights(), ids.length).trainAllBase().build();

        net.forward(ids, ids.length);
        net.backward(1f);
        assertThat(net.lowestBackwardLayer()).isEqualTo(-1);

        int checked = 0;
        for (Param p : net.trainableParams()) {
            TensorEntry want = ref.get("grad." + p.name());
            assertThat(want).as("reference gradient of " + p.name()).isNotNull();
            ParityAssert.assertClose(p.grad(), want.toFloats(), 1e-4, p.name());
            checked++;
        }
        assertThat(checked).isEqualTo(ref.keySet().stream().filter(k -> k.startsWith("grad.")).count());
    }

    @Test
    void flexiDepthPlugInLossesAndGradientsMatchAutograd() {
        Path dir = Shared.path("fixtures/flexidepth-llama3");
        Model model = ModelLoader.load(dir);
        Map<String, TensorEntry> ref = SafeTensors.open(dir.resolve("reference.grads.safetensors")).tensors();
        int[] ids = SafeTensors.open(dir.resolve("reference.safetensors")).get("ids_b").toInts();
        float alpha = ref.get("alpha").toFloats()[0];
        PlugIn plugIn = PlugIn.from((FlexiDepth) model.defaultPolicy()).withSkipLoss(alpha);
        assertThat(plugIn.routedLayers()).containsExactly(3, 4, 5);
        TrainableDecoder net = TrainableDecoder.builder(model.config(), model.transformer().weights(), ids.length).skip(plugIn).build();

        double loss = net.forward(ids, ids.length);
        net.backward(1f);

        assertThat(net.lmLoss()).isCloseTo(ref.get("lm_loss").toFloats()[0], org.assertj.core.data.Offset.offset(1e-4));
        assertThat(plugIn.skipLoss()).isCloseTo(ref.get("skip_loss").toFloats()[0], org.assertj.core.data.Offset.offset(1e-4 * ref.get("skip_loss").toFloats()[0]));
        assertThat(loss).isCloseTo(ref.get("loss").toFloats()[0], org.assertj.core.data.Offset.offset(1e-4));
        assertThat(net.trainableParams()).hasSize(21);
        assertThat(net.lowestBackwardLayer()).as("layers 0-2 run forward only").isEqualTo(3);
        for (Param p : net.trainableParams()) {
            ParityAssert.assertClose(p.grad(), ref.get("grad." + p.name()).toFloats(), 1e-4, p.name());
        }
    }

    @TempDir
    Path tmp;

    @Test
    void trainingForwardAgreesWithInferenceThroughTheSavedPlugIn() {
        Path dir = Shared.path("fixtures/flexidepth-llama3");
        Model model = ModelLoader.load(dir);
        int[] ids = SafeTensors.open(dir.resolve("reference.safetensors")).get("ids_b").toInts();
        PlugIn plugIn = PlugIn.from((FlexiDepth) model.defaultPolicy());
        Path file = tmp.resolve("flexidepth.safetensors");
        plugIn.save(file);
        FlexiDepth policy = FlexiDepthFiles.load(file, model.config());
        assertThat(policy.routedLayers()).containsExactly(3, 4, 5);

        InferenceState s = model.transformer().newState(ids.length);
        model.transformer().forward(s, ids, 0, ids.length, policy, true);
        int v = model.config().vocabSize();
        double nll = 0;
        for (int t = 0; t + 1 < ids.length; t++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < v; j++) max = Math.max(max, s.logits()[t * v + j]);
            for (int j = 0; j < v; j++) sum += Math.exp(s.logits()[t * v + j] - max);
            nll += Math.log(sum) + max - s.logits()[t * v + ids[t + 1]];
        }
        TrainableDecoder net = TrainableDecoder.builder(model.config(), model.transformer().weights(), ids.length).skip(plugIn).build();
        net.forward(ids, ids.length);
        assertThat(net.lmLoss()).isCloseTo(nll / (ids.length - 1), org.assertj.core.data.Offset.offset(1e-5));
        for (int l : policy.routedLayers()) {
            for (int t = 0; t < ids.length; t++) assertThat(plugIn.gate(l, t)).as("gate " + l + "," + t).isCloseTo(s.gate(l, t), org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    /**
     * No autograd reference exists for qwen2 (q/k/v biases, tied embeddings), so each of those tensors' gradients is
     * checked as a directional derivative of the float32 loss along the gradient itself: (L(w + εu) − L(w − εu)) / 2ε
     * must equal |grad| (u = grad / |grad|). Float32 losses limit this to a few percent; it catches wiring mistakes
     * (a bias gradient not reaching its tensor, the tied head's gradient not added to the embedding's).
     */
    @Test
    void biasesAndTiedEmbeddingGradientsAgreeWithTheLossAlongThemselves() {
        Path dir = Shared.path("fixtures/hf-parity/qwen2");
        Model model = ModelLoader.load(dir);
        int[] ids = SafeTensors.open(dir.resolve("reference.safetensors")).get("ids_b").toInts();
        TrainableDecoder net = TrainableDecoder.builder(model.config(), model.transformer().weights(), ids.length).trainAllBase().build();
        net.forward(ids, ids.length);
        net.backward(1f);
        int checked = 0;
        for (Param p : net.trainableParams()) {
            if (!p.name().endsWith(".bias") && !p.name().equals("model.embed_tokens.weight")) continue;
            double norm = 0;
            for (float g : p.grad()) norm += (double) g * g;
            norm = Math.sqrt(norm);
            float[] keep = p.value().clone();
            double eps = 1e-2 / norm;
            for (int i = 0; i < keep.length; i++) p.value()[i] = (float) (keep[i] + eps * p.grad()[i]);
            double plus = net.forward(ids, ids.length);
            for (int i = 0; i < keep.length; i++) p.value()[i] = (float) (keep[i] - eps * p.grad()[i]);
            double minus = net.forward(ids, ids.length);
            System.arraycopy(keep, 0, p.value(), 0, keep.length);
            double directional = (plus - minus) / (2 * eps * norm);
            assertThat(directional / norm).as(p.name()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(0.03));
            checked++;
        }
        assertThat(checked).isEqualTo(1 + 3 * model.config().numLayers());
    }
}
