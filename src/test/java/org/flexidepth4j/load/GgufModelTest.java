package org.flexidepth4j.load;

import static org.assertj.core.api.Assertions.assertThat;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.flexidepth4j.GgufFiles;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ParityAssert;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tinylm-12l quantized by llama.cpp: the GGUF loader maps names, dtypes and RoPE pairing onto the same decoder. */
class GgufModelTest {

    private static double relativeErrorAgainstReference(String file) {
        Model model = ModelLoader.load(Shared.path("models/tinylm-12l-gguf/" + file));
        SafeTensors ref = SafeTensors.open(Shared.path("models/tinylm-12l/reference.safetensors"));
        int[] ids = ref.get("ids").toInts();
        float[] want = ref.get("logits").toFloats();
        InferenceState s = model.transformer().newState(ids.length);
        model.transformer().forward(s, ids, 0, ids.length, SkipPolicy.NONE, true);
        return ParityAssert.relativeError(s.logits(), 0, want, 0, want.length);
    }

    @Test
    void q8ModelLoadsWithTinylmShapesAndQuantizedWeights() {
        Model model = ModelLoader.load(Shared.path("models/tinylm-12l-gguf/tinylm-12l-q8_0.gguf"));
        assertThat(model.config().numLayers()).isEqualTo(12);
        assertThat(model.config().hiddenSize()).isEqualTo(256);
        assertThat(model.config().kvDim()).isEqualTo(128);
        assertThat(model.config().tiedEmbeddings()).isTrue();
        assertThat(model.config().rope().interleaved()).isTrue();
        assertThat(model.transformer().weights().layers()[0].wq().dtype()).isEqualTo(DType.Q8_0);
    }

    @Test
    void quantizedLogitsStayCloseToTheFloat64Reference() {
        // Quantization error bounds, measured 0.008 for Q8_0 and 0.11 for Q4_0 of the max logit. A wrong RoPE pairing or
        // name mapping gives errors near 1.
        double q8 = relativeErrorAgainstReference("tinylm-12l-q8_0.gguf");
        double q4 = relativeErrorAgainstReference("tinylm-12l-q4_0.gguf");
        assertThat(q8).isLessThan(0.03);
        assertThat(q4).isLessThan(0.2).isGreaterThan(q8);
    }

    @Test
    void aTensorOfAnUnsupportedTypeIsNamedNotReportedMissing(@TempDir Path tmp) throws Exception {
        Path file = GgufFiles.withTensorType(Shared.path("models/tinylm-12l-gguf/tinylm-12l-q4_k_m.gguf"), tmp.resolve("iq2_xxs.gguf"),
                "blk.0.attn_q.weight", DType.IQ2_XXS);
        assertThatThrownBy(() -> ModelLoader.load(file)).isInstanceOf(FormatException.class)
                .hasMessage(file + ": tensor blk.0.attn_q.weight has type IQ2_XXS, not supported");
    }
}
