package org.flexidepth4j.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.GgufWriter;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.io.SafeTensorsWriter;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.RopeConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the loaders refuse before anything runs: config values, header sizes, RoPE keys, non-finite weights, vocabularies. */
class LoadChecksTest {
    private static final Path CONFIG = Path.of("config.json");
    @TempDir
    Path dir;

    private static ModelConfig hf(Consumer<ObjectNode> edit) throws IOException {
        ObjectNode c = (ObjectNode) Json.read(Shared.path("models/tinylm-12l/config.json"));
        c.remove("rope_parameters"); // tinylm's says "default"; the edits write either spelling
        edit.accept(c);
        return HfConfig.parse(CONFIG, c);
    }

    private static void assertHfRefused(Consumer<ObjectNode> edit, String message) {
        assertThatThrownBy(() -> hf(edit)).isInstanceOf(FormatException.class).hasMessageStartingWith("config.json: ").hasMessageContaining(message)
                .hasMessageNotContaining("\n");
    }

    @Test
    void hfRopeTypesMapOntoTheirScalings() throws IOException {
        assertThat(hf(c -> c.putObject("rope_scaling").put("type", "linear").put("factor", 2.0)).rope().scaling()).isEqualTo(new RopeConfig.Linear(2));
        RopeConfig yarn = hf(c -> c.putObject("rope_parameters").put("rope_type", "yarn").put("rope_theta", 1e6).put("factor", 4.0)
                .put("original_max_position_embeddings", 256)).rope();
        assertThat(yarn.theta()).isEqualTo(1e6);
        assertThat(yarn.scaling()).isEqualTo(new RopeConfig.Yarn(4, 256, 32, 1, 0.1 * Math.log(4) + 1));
        // DeepSeek-style mscale / mscale_all_dim: equal values cancel
        assertThat(hf(c -> c.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0).put("mscale", 0.707).put("mscale_all_dim", 0.707))
                .rope().attentionFactor()).isCloseTo(1, within(1e-15));
        assertThat(hf(c -> c.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0).put("attention_factor", 1.5)).rope().attentionFactor())
                .isEqualTo(1.5);
        assertThat(hf(c -> c.putNull("rope_scaling")).rope().scaling()).isEqualTo(RopeConfig.Scaling.NONE);
        // dynamic NTK starts beyond max_position_embeddings, where no sequence of ours reaches: plain RoPE
        assertThat(hf(c -> c.putObject("rope_scaling").put("type", "dynamic").put("factor", 2.0)).rope()).isEqualTo(hf(c -> { }).rope());
    }

    @Test
    void hfConfigValuesThatWouldGiveNanAreRefusedNamingTheKey() {
        assertHfRefused(c -> c.putObject("rope_scaling").put("type", "dynamic").put("factor", 2.0).put("original_max_position_embeddings", 64),
                "rope type 'dynamic' with original_max_position_embeddings 64 < max_position_embeddings");
        assertHfRefused(c -> c.putObject("rope_scaling").put("type", "dynamic"), "key 'factor' is missing");
        assertHfRefused(c -> c.putObject("rope_scaling").put("type", "longrope").put("original_max_position_embeddings", 256), "key 'short_factor' is missing");
        assertHfRefused(c -> c.putObject("rope_scaling").put("type", "su"), "missing or invalid key 'original_max_position_embeddings'");
        assertHfRefused(c -> c.putObject("rope_scaling").put("type", "longrope").put("original_max_position_embeddings", 256)
                .put("short_factor", 1.0), "key 'short_factor' is missing");
        assertHfRefused(c -> c.putObject("rope_scaling").put("type", "linear"), "key 'factor' is missing");
        assertHfRefused(c -> c.putObject("rope_scaling").put("type", "linear").put("factor", 0), "key 'factor' must be a finite number > 0, got 0");
        assertHfRefused(c -> c.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 4.0)
                .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 256), "high_freq_factor 4.0 must be greater than low_freq_factor 4.0");
        assertHfRefused(c -> c.put("rope_theta", -1), "key 'rope_theta' must be a finite number > 0");
        assertHfRefused(c -> c.put("rope_theta", "NaN"), "key 'rope_theta' must be a finite number > 0");
        assertHfRefused(c -> c.put("rms_norm_eps", 0), "key 'rms_norm_eps' must be a finite number > 0");
        assertHfRefused(c -> c.put("rms_norm_eps", 1e-60), "rms_norm_eps must be a finite number > 0 (as float32)");
        assertHfRefused(c -> c.put("partial_rotary_factor", 1.5), "partial_rotary_factor 1.5 is greater than 1");
        assertHfRefused(c -> c.put("max_position_embeddings", Integer.MAX_VALUE), "max_position_embeddings 2147483647 is outside 1..1048576");
        assertHfRefused(c -> c.put("num_hidden_layers", 12.5), "missing or invalid key 'num_hidden_layers'");
    }

    @Test
    void hfLayerCountBeyondTheCheckpointFailsBeforeSizingAnything() throws IOException {
        Path model = Shared.path("models/tinylm-12l");
        for (String f : List.of("model.safetensors", "tokenizer.json", "tokenizer_config.json")) Files.createSymbolicLink(dir.resolve(f), model.resolve(f).toAbsolutePath());
        ObjectNode c = (ObjectNode) Json.read(model.resolve("config.json"));
        c.put("num_hidden_layers", 2_000_000_000);
        Files.writeString(dir.resolve("config.json"), c.toString());
        assertThatThrownBy(() -> ModelLoader.load(dir)).isInstanceOf(FormatException.class)
                .hasMessage(dir + ": the config has 2000000000 layers but the checkpoint holds only 110 tensors");
    }

    /** A GGUF with tinylm's shape metadata, one small embedding, and {@code edit}'s keys and tensors. */
    private Path gguf(Consumer<GgufWriter> edit) throws IOException {
        GgufWriter w = new GgufWriter().put("general.architecture", "llama").put("llama.embedding_length", 64).put("llama.attention.head_count", 4)
                .put("llama.feed_forward_length", 128).put("llama.block_count", 1).put("llama.context_length", 512)
                .tensor("token_embd.weight", new float[8 * 64], 8, 64);
        edit.accept(w);
        return w.write(dir.resolve("m.gguf"));
    }

    private RopeConfig ggufRope(Consumer<GgufWriter> edit) throws IOException {
        return GgufCheckpoint.of(org.flexidepth4j.io.Gguf.open(gguf(edit))).config().rope();
    }

    private void assertGgufRefused(Consumer<GgufWriter> edit, String message) throws IOException {
        Path file = gguf(edit);
        assertThatThrownBy(() -> GgufCheckpoint.of(org.flexidepth4j.io.Gguf.open(file))).isInstanceOf(FormatException.class)
                .hasMessageStartingWith(file + ": ").hasMessageContaining(message);
    }

    @Test
    void everyGgufRopeKeyIsHonouredOrRefused() throws IOException {
        assertThat(ggufRope(w -> { })).isEqualTo(RopeConfig.plain(10000, true));
        assertThat(ggufRope(w -> w.put("llama.rope.freq_base", 500000f).put("llama.rope.scaling.type", "linear").put("llama.rope.scaling.factor", 4f)))
                .isEqualTo(new RopeConfig(500000, true, 0, new RopeConfig.Linear(4)));
        assertThat(ggufRope(w -> w.put("llama.rope.scale_linear", 2f)).scaling()).isEqualTo(new RopeConfig.Linear(2));
        assertThat(ggufRope(w -> w.put("llama.rope.scaling.type", "yarn").put("llama.rope.scaling.factor", 4f)
                .put("llama.rope.scaling.original_context_length", 128).put("llama.rope.scaling.finetuned", true)).scaling())
                .isEqualTo(new RopeConfig.Yarn(4, 128, 32, 1, 0.1 * Math.log(4) + 1));
        assertThat(ggufRope(w -> w.put("llama.rope.dimension_count", 8)).rotaryDim()).isEqualTo(8);
        RopeConfig.Scaling divisors = ggufRope(w -> w.tensor("rope_freqs.weight", new float[] {1, 1, 2, 2, 4, 4, 8, 8}, 8)).scaling();
        assertThat(((RopeConfig.FrequencyDivisors) divisors).divisors()).containsExactly(1, 1, 2, 2, 4, 4, 8, 8);

        assertGgufRefused(w -> w.put("llama.rope.scaling.type", "longrope"), "llama.rope.scaling.type = 'longrope' is not supported");
        assertGgufRefused(w -> w.put("llama.rope.scaling.yarn_log_multiplier", 0.1f), "metadata key llama.rope.scaling.yarn_log_multiplier is not supported");
        assertGgufRefused(w -> w.put("llama.rope.dimension_count", 32), "llama.rope.dimension_count = 32 is outside 1..16");
        assertGgufRefused(w -> w.put("llama.rope.freq_base", Float.NaN), "rope theta must be a finite number > 0");
        assertGgufRefused(w -> w.put("llama.rope.scaling.type", "linear").put("llama.rope.scaling.factor", -2f), "rope scaling factor must be a finite number > 0");
        assertGgufRefused(w -> w.tensor("rope_freqs.weight", new float[] {1, 1, 2, Float.NaN, 4, 4, 8, 8}, 8), "rope frequency divisor 3");
        assertGgufRefused(w -> w.tensor("rope_freqs.weight", new float[4], 4), "tensor rope_freqs.weight has shape [4], expected [8]");
        assertGgufRefused(w -> w.put("llama.attention.layer_norm_rms_epsilon", 0f), "rms_norm_eps must be a finite number > 0");
        assertGgufRefused(w -> w.put("llama.attention.head_count", 0), "llama.attention.head_count = 0 must be > 0");
    }

    @Test
    void llama2cHeaderWithAHugeLayerCountFailsAtOnceAgainstTheFileLength() throws IOException {
        byte[] file = Files.readAllBytes(Shared.path("models/stories260K/stories260K.bin"));
        ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).putInt(8, Integer.MAX_VALUE);
        Path lying = Files.write(dir.resolve("huge.bin"), file);
        assertThatThrownBy(() -> ModelLoader.load(lying)).isInstanceOf(FormatException.class).hasMessageContaining("n_layers=2147483647")
                .hasMessageContaining("implies 390326627826460");
        ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 1 << 30).putInt(4, Integer.MAX_VALUE).putInt(8, 1).putInt(12, 1).putInt(16, 1);
        Path overflowing = Files.write(dir.resolve("overflow.bin"), file);
        assertThatThrownBy(() -> ModelLoader.load(overflowing)).isInstanceOf(FormatException.class).hasMessageContaining("implies more than 2^63");
    }

    /** tinylm-12l in a directory of its own, with {@code tensorName}'s first value replaced by {@code value}. */
    private Path tinylmWith(String tensorName, float value) throws IOException {
        Path base = Shared.path("models/tinylm-12l");
        for (String f : List.of("config.json", "tokenizer.json", "tokenizer_config.json")) Files.createSymbolicLink(dir.resolve(f), base.resolve(f).toAbsolutePath());
        SafeTensors st = SafeTensors.open(base.resolve("model.safetensors"));
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (TensorEntry t : st.tensors().values()) {
            float[] v = t.toFloats();
            if (t.name().equals(tensorName)) v[0] = value;
            w.addF32(t.name(), v, t.shape());
        }
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    @Test
    void nonFiniteWeightsAreRefusedAtLoadUnlessTheCheckIsOff() throws IOException {
        Path damaged = tinylmWith("model.layers.7.mlp.down_proj.weight", Float.NaN);
        assertThatThrownBy(() -> ModelLoader.load(damaged)).isInstanceOf(FormatException.class)
                .hasMessage(dir.resolve("model.safetensors") + ": tensor model.layers.7.mlp.down_proj.weight holds NaN or infinity (element 0);"
                        + " the file is damaged (--no-weight-check skips this check)");
        Model trusted = ModelLoader.load(damaged, null, false);
        assertThat(trusted.config().numLayers()).isEqualTo(12);
    }

    @Test
    void everyStoredTypeIsScannedWhereItsValuesCanBeNonFinite() {
        // float32: exponent all ones; the scan reports the first such element across vector-width boundaries
        float[] floats = new float[37];
        floats[35] = Float.POSITIVE_INFINITY;
        assertThat(WeightCheck.firstNonFiniteF32(MemorySegment.ofArray(floats))).isEqualTo(35);
        floats[35] = 3e38f;
        assertThat(WeightCheck.firstNonFiniteF32(MemorySegment.ofArray(floats))).isEqualTo(-1);
        // more than one slice of the parallel scan: the lowest bad index wins whichever worker finds it
        float[] large = new float[4 << 20];
        large[3_500_000] = Float.NaN;
        large[3_000_001] = Float.NEGATIVE_INFINITY;
        assertThat(WeightCheck.firstNonFiniteF32(MemorySegment.ofArray(large))).isEqualTo(3_000_001);
        short[] halves = new short[70];
        halves[66] = (short) 0xFFC0; // a bf16 NaN (negative, quiet)
        assertThat(WeightCheck.firstNonFinite16(MemorySegment.ofArray(halves), (short) 0x7F80)).isEqualTo(66);
        halves[66] = Float.floatToFloat16(65504f); // largest finite f16
        assertThat(WeightCheck.firstNonFinite16(MemorySegment.ofArray(halves), (short) 0x7C00)).isEqualTo(-1);
        // Q8_0 blocks of 34 bytes: a NaN scale in block 2
        byte[] q8 = new byte[3 * 34];
        Arrays.fill(q8, (byte) 0x11);
        q8[2 * 34] = 0;
        q8[2 * 34 + 1] = (byte) 0x7E;
        assertThat(WeightCheck.firstNonFiniteBlock(MemorySegment.ofArray(q8), 34, new int[] {0})).isEqualTo(2);
    }

    @Test
    void aTokenizerLargerThanTheModelVocabularyIsRefusedAtLoad() {
        Path tokenizer = Shared.path("models/tinylm-12l/tokenizer.json");
        Path stories = Shared.path("models/stories260K/stories260K.bin");
        assertThatThrownBy(() -> ModelLoader.load(stories, tokenizer, true)).isInstanceOf(FormatException.class)
                .hasMessage(tokenizer + ": the tokenizer has 8192 tokens but the model " + stories + " has only 512 (vocab_size): they do not belong together");
    }
}
