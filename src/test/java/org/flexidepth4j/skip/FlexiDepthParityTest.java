package org.flexidepth4j.skip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.io.SafeTensorsWriter;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ParityAssert;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Kernels;
import org.flexidepth4j.tensor.Matrix;
import org.flexidepth4j.tensor.Quantizer;
import org.flexidepth4j.tensor.VectorOps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** FlexiDepth logits, gates, run/skip decisions and greedy ids against the float64 reference. */
class FlexiDepthParityTest {
    static final Path DIR = Shared.path("fixtures/flexidepth-llama3");
    static final SafeTensors REF = SafeTensors.open(DIR.resolve("reference.safetensors"));

    @Test
    void mergedCheckpointMatchesReference() {
        Model model = ModelLoader.load(DIR);
        assertThat(model.defaultPolicy()).isInstanceOf(FlexiDepth.class);
        FlexiDepth fd = (FlexiDepth) model.defaultPolicy();
        assertThat(fd.routedLayers()).containsExactly(3, 4, 5);
        assertThat(fd.routerReductionFactor()).isEqualTo(16);
        assertMatchesReference(model.transformer(), fd);
    }

    @Test
    void baseWithSeparatePluginFileMatchesReference(@TempDir Path tmp) throws Exception {
        Path base = tmp.resolve("base");
        Files.createDirectories(base);
        Files.createSymbolicLink(base.resolve("config.json"), DIR.resolve("config.json"));
        Files.createSymbolicLink(base.resolve("model.safetensors"), DIR.resolve("model.safetensors"));
        Model model = ModelLoader.load(base);
        assertThat(model.defaultPolicy()).isSameAs(SkipPolicy.NONE);

        // the fixture's second shard is exactly a plug-in file
        FlexiDepth shipped = FlexiDepthFiles.load(DIR.resolve("flexidepth.safetensors"), model.config());
        assertMatchesReference(model.transformer(), shipped);

        // written by us (F32, metadata) and read back: same tensors, same results
        Path written = tmp.resolve("adapters.safetensors");
        FlexiDepthFiles.save(shipped, written);
        SafeTensors back = SafeTensors.open(written);
        assertThat(back.metadata()).containsEntry("routed_layers", "3,4,5").containsEntry("router_reduction_factor", "16")
                .containsEntry("proj_reduction_factor", "16");
        Map<String, TensorEntry> original = SafeTensors.open(DIR.resolve("flexidepth.safetensors")).tensors();
        assertThat(back.tensors().keySet()).containsExactlyInAnyOrderElementsOf(original.keySet());
        for (TensorEntry e : original.values()) {
            assertThat(back.get(e.name()).shape()).isEqualTo(e.shape());
            assertThat(back.get(e.name()).toFloats()).isEqualTo(e.toFloats());
        }
        assertMatchesReference(model.transformer(), FlexiDepthFiles.load(written, model.config()));
    }

    @Test
    void pluginIsStoredInTheBaseModelsDtype() {
        Model f32 = ModelLoader.load(DIR);
        FlexiDepth fd = (FlexiDepth) f32.defaultPolicy();
        assertThat(fd.forBase(f32.transformer().weights()).adapter(4).upProj()).isSameAs(fd.adapter(4).upProj()); // F32 stays

        Model bf16 = ModelLoader.withMatrices(f32, m -> Quantizer.quantize(m, DType.BF16));
        FlexiDepth rounded = (FlexiDepth) bf16.defaultPolicy();
        for (int l : rounded.routedLayers()) {
            for (Matrix m : new Matrix[] {rounded.router(l).enc(), rounded.router(l).dec(), rounded.router(l).head(),
                    rounded.adapter(l).gateProj(), rounded.adapter(l).downProj(), rounded.adapter(l).upProj()}) {
                assertThat(m.dtype()).isEqualTo(DType.BF16);
            }
            long norm = fd.router(l).norm().length * 4L; // the norm weights stay float
            assertThat(rounded.router(l).byteSize()).isEqualTo((fd.router(l).byteSize() - norm) / 2 + norm);
            assertThat(rounded.adapter(l).byteSize()).isEqualTo(fd.adapter(l).byteSize() / 2);
        }
        // rounding the plug-in to bf16 moves gates by about bf16's precision, not more
        int[] ids = REF.get("ids_a").toInts();
        Transformer tf = bf16.transformer();
        InferenceState a = tf.newState(ids.length), b = tf.newState(ids.length);
        tf.forward(a, ids, 0, ids.length, fd, false);
        tf.forward(b, ids, 0, ids.length, rounded, false);
        for (int l : fd.routedLayers()) {
            for (int t = 0; t < ids.length; t++) {
                assertThat(b.gate(l, t)).as("layer %d token %d", l, t).isCloseTo(a.gate(l, t), org.assertj.core.data.Offset.offset(0.01f));
            }
        }
    }

    /**
     * The skip path of a Q4_0 model (its plug-in in BF16, as forBase stores it) runs the same kernels as dense decode: the native tier
     * (the interleaved Q4_0 layout) and the Java tier give the same greedy ids and skip decisions, token by token, and
     * logits that agree to float rounding except where an activation's 8-bit rounding differs.
     */
    @Test
    void q4_0SkipPathAgreesBetweenKernelTiers() {
        skipPathAgreesBetweenKernelTiers(DType.Q4_0, 1e-5);
    }

    /**
     * The same for Q8_0, whose native tier also reads an interleaved copy. Here an activation of the prompt rounds to the
     * other 8-bit value between the tiers, so every step's logits move by up to 1.5% of the largest (measured the same,
     * 0.0147 at the median step, with the stored-layout kernels before the interleaved copy).
     */
    @Test
    void q8_0SkipPathAgreesBetweenKernelTiers() {
        skipPathAgreesBetweenKernelTiers(DType.Q8_0, 0.02);
    }

    private void skipPathAgreesBetweenKernelTiers(DType dtype, double medianBound) {
        if (!Kernels.nativeAvailable()) return;
        Model quantized = ModelLoader.withMatrices(ModelLoader.load(DIR), m -> m.cols() % 32 == 0 ? Quantizer.quantize(m, dtype) : m);
        FlexiDepth fd = (FlexiDepth) quantized.defaultPolicy();
        Transformer tf = quantized.transformer();

        int v = tf.config().vocabSize(), layers = tf.config().numLayers(), steps = 12;
        int[] prompt = REF.get("ids_a").toInts();
        float[][] logits = new float[2][], gates = new float[2][];
        int[][] ids = new int[2][steps];
        try {
            for (int tier = 0; tier < 2; tier++) {
                Kernels.choose(tier == 0 ? Kernels.Choice.JAVA : Kernels.Choice.NATIVE);
                InferenceState s = tf.newState(prompt.length + steps);
                logits[tier] = new float[steps * v];
                gates[tier] = new float[steps * layers];
                for (int i = 0; i < prompt.length + steps - 1; i++) {
                    tf.forward(s, i < prompt.length ? prompt : ids[tier], i < prompt.length ? i : i - prompt.length, 1, fd, false);
                    if (i < prompt.length - 1) continue;
                    int step = i - prompt.length + 1;
                    System.arraycopy(s.logits(), 0, logits[tier], step * v, v);
                    for (int l = 0; l < layers; l++) gates[tier][step * layers + l] = s.gate(l, 0);
                    if (step < steps - 1) ids[tier][step] = VectorOps.argmax(s.logits(), 0, v);
                }
            }
        } finally {
            Kernels.choose(Kernels.Choice.AUTO);
        }
        assertThat(ids[1]).isEqualTo(ids[0]);
        // Where the two tiers round an activation to the other of two 8-bit values (their float sums differ in the last
        // bits), a step's logits move by that rounding (measured 0.8% of the largest logit, 2 of 12 steps); the others agree.
        double[] error = new double[steps];
        for (int step = 0; step < steps; step++) {
            double diff = 0, largest = 0;
            for (int j = 0; j < v; j++) {
                diff = Math.max(diff, Math.abs(logits[1][step * v + j] - logits[0][step * v + j]));
                largest = Math.max(largest, Math.abs(logits[0][step * v + j]));
            }
            error[step] = diff / largest;
            assertThat(error[step]).as("step %d", step).isLessThan(0.02);
        }
        assertThat(java.util.Arrays.stream(error).sorted().toArray()[steps / 2]).as("median step").isLessThan(medianBound);
        for (int i = 0; i < gates[0].length; i++) {
            assertThat(gates[1][i] > 0.5f).as("decision %d", i).isEqualTo(gates[0][i] > 0.5f);
            assertThat((double) gates[1][i]).as("gate %d", i).isCloseTo(gates[0][i], org.assertj.core.data.Offset.offset(0.02));
        }
    }

    @Test
    void badPluginFilesGiveOneLineErrors(@TempDir Path tmp) {
        Model model = ModelLoader.load(DIR);
        Map<String, TensorEntry> t = SafeTensors.open(DIR.resolve("flexidepth.safetensors")).tensors();

        Path missing = tmp.resolve("missing.safetensors");
        SafeTensorsWriter w = new SafeTensorsWriter();
        t.values().stream().filter(e -> !e.name().endsWith("layers.4.router_proj.up_proj.weight"))
                .forEach(e -> w.addF32(e.name(), e.toFloats(), e.shape()));
        w.write(missing);
        assertThatThrownBy(() -> FlexiDepthFiles.load(missing, model.config())).isInstanceOf(FormatException.class)
                .hasMessage(missing + ": tensor model.layers.4.router_proj.up_proj.weight is missing");

        Path wrongFactor = tmp.resolve("factor.safetensors");
        SafeTensorsWriter w2 = new SafeTensorsWriter().metadata("router_reduction_factor", "8");
        t.values().forEach(e -> w2.addF32(e.name(), e.toFloats(), e.shape()));
        w2.write(wrongFactor);
        assertThatThrownBy(() -> FlexiDepthFiles.load(wrongFactor, model.config())).isInstanceOf(FormatException.class)
                .hasMessageContaining("has shape [8, 128], expected [16, 128]").hasMessageNotContaining("\n");

        Path empty = tmp.resolve("empty.safetensors");
        new SafeTensorsWriter().addF32("x", new float[1], 1).write(empty);
        assertThatThrownBy(() -> FlexiDepthFiles.load(empty, model.config())).isInstanceOf(FormatException.class)
                .hasMessageContaining("no FlexiDepth router tensors");
        assertThatThrownBy(() -> FlexiDepthFiles.load(tmp.resolve("nope.safetensors"), model.config())).isInstanceOf(FormatException.class)
                .hasMessageContaining("file not found");
    }

    static void assertMatchesReference(Transformer tf, FlexiDepth fd) {
        int v = tf.config().vocabSize(), layers = tf.config().numLayers();
        for (String c : new String[] {"a", "b"}) {
            int[] ids = REF.get("ids_" + c).toInts();
            float[] logits = REF.get("logits_" + c).toFloats();
            float[] gates = REF.get("gates_" + c).toFloats();
            int n = ids.length;

            InferenceState full = tf.newState(n);
            tf.forward(full, ids, 0, n, fd, true);
            ParityAssert.assertClose(full.logits(), logits, 1e-4, c + " full sequence");
            assertTrace(full, 0, n, gates, n, 0, layers, c + " full sequence");

            InferenceState inc = tf.newState(n);
            float[] stepped = new float[n * v];
            for (int t = 0; t < n; t++) {
                tf.forward(inc, ids, t, 1, fd, false);
                System.arraycopy(inc.logits(), 0, stepped, t * v, v);
                assertTrace(inc, 0, 1, gates, n, t, layers, c + " incremental token " + t);
            }
            ParityAssert.assertClose(stepped, logits, 1e-4, c + " incremental");
        }

        int[] prompt = REF.get("ids_a").toInts();
        int[] want = REF.get("greedy_from_a").toInts();
        float[] seqGates = REF.get("gates_greedy_seq").toFloats();
        int total = prompt.length + want.length;
        InferenceState s = tf.newState(total);
        tf.forward(s, prompt, 0, prompt.length, fd, false);
        assertTrace(s, 0, prompt.length, seqGates, total, 0, layers, "greedy prompt");
        int[] got = new int[want.length];
        for (int i = 0; i < want.length; i++) {
            got[i] = VectorOps.argmax(s.logits(), 0, v);
            tf.forward(s, got, i, 1, fd, false);
            assertTrace(s, 0, 1, seqGates, total, prompt.length + i, layers, "greedy step " + i);
        }
        assertThat(got).isEqualTo(want);
    }

    /** Rows [from, from + n) of the last call against reference columns starting at refCol of a [layers, refLen] table. */
    private static void assertTrace(InferenceState s, int from, int n, float[] ref, int refLen, int refCol, int layers, String what) {
        for (int t = from; t < from + n; t++) {
            int expectedUsed = 0;
            for (int l = 0; l < layers; l++) {
                float want = ref[l * refLen + refCol + t - from];
                float got = s.gate(l, t);
                if (want < 0) {
                    assertThat(got).as(what + " layer " + l + " unrouted").isEqualTo(-1f);
                    expectedUsed++;
                } else {
                    assertThat((double) got).as(what + " gate layer " + l + " token " + t).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-5));
                    assertThat(got > 0.5f).as(what + " decision layer " + l + " token " + t).isEqualTo(want > 0.5f);
                    if (want > 0.5f) expectedUsed++;
                }
            }
            assertThat(s.layersUsed(t)).as(what + " layers used, token " + t).isEqualTo(expectedUsed);
        }
    }
}
