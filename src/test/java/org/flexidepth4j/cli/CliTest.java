package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.IntStream;
import org.flexidepth4j.GgufFiles;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.ParityAssert;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI contract on the HF parity fixture: logits files, greedy generation as JSON, info. */
class CliTest {
    static final Path LLAMA = Shared.path("fixtures/hf-parity/llama3");
    static final SafeTensors REF = SafeTensors.open(LLAMA.resolve("reference.safetensors"));

    static String ids(int[] ids) {
        return String.join(",", IntStream.of(ids).mapToObj(Integer::toString).toList());
    }

    @Test
    void logitsFileMatchesReference(@TempDir Path tmp) {
        int[] ids = REF.get("ids_a").toInts();
        Path out = tmp.resolve("out.safetensors");
        Cli r = Cli.run("logits", "--model", LLAMA.toString(), "--ids", ids(ids), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).isEmpty();

        SafeTensors got = SafeTensors.open(out);
        TensorEntry logits = got.get("logits");
        assertThat(logits.shape()).containsExactly(ids.length, 512);
        ParityAssert.assertClose(logits.toFloats(), REF.get("logits_a").toFloats(), 1e-4, "logits_a via cli");
        assertThat(got.get("ids").toInts()).isEqualTo(ids);
        TensorEntry gates = got.get("gates");
        assertThat(gates.shape()).containsExactly(6, ids.length);
        assertThat(gates.toFloats()).containsOnly(-1f); // dense model: no routed layer
    }

    @Test
    void flexiDepthLogitsAndGatesMatchReference(@TempDir Path tmp) {
        Path dir = Shared.path("fixtures/flexidepth-llama3");
        SafeTensors ref = SafeTensors.open(dir.resolve("reference.safetensors"));
        int[] ids = ref.get("ids_a").toInts();
        Path out = tmp.resolve("out.safetensors");
        Cli r = Cli.run("logits", "--model", dir.toString(), "--ids", ids(ids), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        SafeTensors got = SafeTensors.open(out);
        ParityAssert.assertClose(got.get("logits").toFloats(), ref.get("logits_a").toFloats(), 1e-4, "flexidepth logits_a via cli");
        float[] gates = got.get("gates").toFloats(), want = ref.get("gates_a").toFloats();
        assertThat(gates).hasSameSizeAs(want);
        for (int i = 0; i < want.length; i++) assertThat(gates[i]).as("gate " + i).isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-5f));
    }

    @Test
    void greedyJsonMatchesReference() {
        Cli r = Cli.run("generate", "--model", LLAMA.toString(), "--ids", ids(REF.get("ids_a").toInts()),
                "--max-tokens", "24", "--temperature", "0", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out().strip().lines()).hasSize(1);
        JsonNode j = Json.MAPPER.valueToTree(parse(r.out()));
        int[] got = new int[j.get("ids").size()];
        for (int i = 0; i < got.length; i++) got[i] = j.get("ids").get(i).asInt();
        assertThat(got).isEqualTo(REF.get("greedy_from_a").toInts());
        assertThat(j.get("prompt_tokens").asInt()).isEqualTo(37);
        assertThat(j.get("generated_tokens").asInt()).isEqualTo(24);
        assertThat(j.get("layers_used")).hasSize(24).allMatch(n -> n.asInt() == 6);
        assertThat(j.get("gates")).hasSize(24).allMatch(JsonNode::isEmpty);
        assertThat(j.get("tokens_per_second").asDouble()).isPositive();
        assertThat(j.get("prefill_tokens_per_second").asDouble()).isPositive();
        assertThat(j.get("stop").asText()).isEqualTo("length");
    }

    @Test
    void infoDescribesTheModel() {
        Cli r = Cli.run("info", "--model", LLAMA.toString(), "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = parse(r.out());
        assertThat(j.get("architecture").asText()).isEqualTo("llama");
        assertThat(j.get("layers").asInt()).isEqualTo(6);
        assertThat(j.get("hidden").asInt()).isEqualTo(128);
        assertThat(j.get("heads").asInt()).isEqualTo(8);
        assertThat(j.get("kv_heads").asInt()).isEqualTo(2);
        assertThat(j.get("activation").asText()).isEqualTo("silu");
        assertThat(j.get("sliding_window").asInt()).isZero();
        long params = 0;
        for (TensorEntry e : SafeTensors.open(LLAMA.resolve("model.safetensors")).tensors().values()) params += e.elementCount();
        assertThat(j.get("parameters").asLong()).isEqualTo(params);
        assertThat(j.get("weight_dtypes").get("F32").asInt()).isEqualTo(6 * 7 + 2);
        assertThat(j.get("routed_layers")).isEmpty();
    }

    @Test
    void infoNamesTheTypesOfAGgufThatCannotRun(@TempDir Path tmp) throws Exception {
        Path file = GgufFiles.withTensorType(Shared.path("models/tinylm-12l-gguf/tinylm-12l-q4_k_m.gguf"), tmp.resolve("iq2.gguf"),
                "blk.3.ffn_up.weight", DType.IQ2_XXS);
        Cli r = Cli.run("info", "--model", file.toString(), "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = parse(r.out());
        assertThat(j.get("runs").asBoolean()).isFalse();
        assertThat(j.get("problem").asText()).endsWith("tensor blk.3.ffn_up.weight has type IQ2_XXS, not supported");
        assertThat(j.get("unsupported_types").get("IQ2_XXS").asInt()).isEqualTo(1);
        assertThat(j.get("tensor_types").get("Q4_K").asInt()).isPositive();
    }

    @Test
    void infoNamesTheArchitectureOfAnHfDirectoryThatCannotRun(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("gpt2"));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
        Cli r = Cli.run("info", "--model", dir.toString(), "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = parse(r.out());
        assertThat(j.get("architecture").asText()).isEqualTo("gpt2");
        assertThat(j.get("runs").asBoolean()).isFalse();
        assertThat(j.get("problem").asText()).contains("unknown model_type 'gpt2'");
    }

    @Test
    void quantizedGgufAndQuantizeOptionLoad() {
        Cli gguf = Cli.run("info", "--model", Shared.path("models/tinylm-12l-gguf/tinylm-12l-q8_0.gguf").toString(), "--json");
        assertThat(gguf.code()).as(gguf.err()).isZero();
        JsonNode g = parse(gguf.out());
        assertThat(g.get("format").asText()).isEqualTo("gguf");
        assertThat(g.get("weight_dtypes").has("Q8_0")).isTrue();
        assertThat(g.get("tokenizer").isNull()).isFalse();
        assertThat(g.get("runs").asBoolean()).isTrue();
        Cli q = Cli.run("info", "--model", LLAMA.toString(), "--quantize", "q4_0", "--json");
        assertThat(q.code()).as(q.err()).isZero();
        assertThat(parse(q.out()).get("weight_dtypes").get("Q4_0").asInt()).isEqualTo(6 * 7 + 2);
    }

    @Test
    void kernelChoiceIsReportedAndChecked() {
        String model = Shared.path("models/tinylm-12l-gguf/tinylm-12l-q4_0.gguf").toString();
        assertThat(parse(Cli.run("--kernels", "java", "info", "--model", model, "--json").out()).get("kernels").asText()).isEqualTo("java, q8 activations");
        assertThat(parse(Cli.run("info", "--activations", "f32", "--model", model, "--json").out()).get("kernels").asText())
                .matches(Kernels.nativeAvailable() ? "native .+ for bf16, f32 activations" : "java, f32 activations");
        Cli auto = Cli.run("info", "--model", model, "--json");
        assertThat(parse(auto.out()).get("kernels").asText()).isEqualTo(Kernels.nativeAvailable() ? Kernels.describe() : "java, q8 activations");
        Cli bad = Cli.run("--kernels", "gpu", "info", "--model", model);
        assertThat(bad.code()).isEqualTo(Main.EXIT_USAGE);
        assertThat(bad.err()).startsWith("flexidepth: --kernels must be java, native or auto");
        Cli forced = Cli.run("--kernels", "native", "info", "--model", model, "--json");
        if (Kernels.nativeAvailable()) {
            assertThat(parse(forced.out()).get("kernels").asText()).startsWith("native ");
        } else {
            assertThat(forced.code()).isEqualTo(Main.EXIT_USAGE);
            assertThat(forced.err()).contains("native kernels unavailable");
        }
    }

    @Test
    void helpAndVersionWorkEverywhere() {
        for (String[] args : new String[][] {{"--help"}, {"--version"}, {"generate", "--help"}, {"logits", "--help"}, {"info", "--help"}}) {
            Cli r = Cli.run(args);
            assertThat(r.code()).as(String.join(" ", args)).isZero();
            assertThat(r.out()).isNotBlank();
        }
    }

    static JsonNode parse(String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }
}
