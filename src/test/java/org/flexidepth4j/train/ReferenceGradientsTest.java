package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.flexidepth4j.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.HfCheckpoint;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ParityAssert;
import org.junit.jupiter.api.Test;

/** Whole-model losses and gradients against float64 autograd references (fixtures/README.md). */
class ReferenceGradientsTest {

    @Test
    void denseModelGradientsOfEveryWeightMatchAutograd() {
        Path dir = Shared.path("fixtures/hf-parity/llama3");
        Model model = ModelLoader.load(dir);
        int[] ids = SafeTensors.open(dir.resolve("reference.safetensors")).get("ids_b").toInts();
        Map<String, TensorEntry> ref = SafeTensors.open(dir.resolve("reference.grads.safetensors")).tensors();
        TrainableDecoder net = new TrainableDecoder(model.config(), model.transformer().weights(), name -> true, null, 0f, 0.5f, ids.length);

        net.forward(ids, ids.length);
        net.backward(1f);

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
        PlugIn plugIn = PlugIn.fromTensors(model.config(), HfCheckpoint.tensors(dir), dir);
        assertThat(plugIn.routedLayers()).containsExactly(3, 4, 5);
        TrainableDecoder net = new TrainableDecoder(model.config(), model.transformer().weights(), name -> false, plugIn, alpha, 0.5f, ids.length);

        double loss = net.forward(ids, ids.length);
        net.backward(1f);

        assertThat(net.lmLoss()).isCloseTo(ref.get("lm_loss").toFloats()[0], org.assertj.core.data.Offset.offset(1e-4));
        assertThat(net.skipLoss()).isCloseTo(ref.get("skip_loss").toFloats()[0], org.assertj.core.data.Offset.offset(1e-4 * ref.get("skip_loss").toFloats()[0]));
        assertThat(loss).isCloseTo(ref.get("loss").toFloats()[0], org.assertj.core.data.Offset.offset(1e-4));
        assertThat(net.trainableParams()).hasSize(21);
        for (Param p : net.trainableParams()) {
            ParityAssert.assertClose(p.grad(), ref.get("grad." + p.name()).toFloats(), 1e-4, p.name());
        }
    }
}
