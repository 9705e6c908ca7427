package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import org.flexidepth4j.GgufFiles;
import org.flexidepth4j.tensor.DType;
import org.junit.jupiter.api.io.TempDir;
import org.flexidepth4j.load.MoeFiles;
import org.junit.jupiter.api.Test;

/** info and generate on a mixture-of-experts GGUF file (Mixtral's shape, {@link MoeFiles}). */
class MoeCliTest {
    @Test
    void infoShowsTheExpertsAndGenerateRunsQuantizedToo() throws IOException {
        String file = MoeFiles.gguf(MoeFiles.Shape.MIXTRAL).toString();
        Cli r = Cli.run("info", "--model", file, "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = CliTest.parse(r.out());
        assertThat(j.get("architecture").asText()).isEqualTo("llama");
        assertThat(j.get("runs").asBoolean()).isTrue();
        JsonNode experts = j.get("experts");
        assertThat(experts.get("count").asInt()).isEqualTo(MoeFiles.EXPERTS);
        assertThat(experts.get("per_token").asInt()).isEqualTo(MoeFiles.PER_TOKEN);
        assertThat(experts.get("renormalised").asBoolean()).isTrue();
        // router, and gate/up/down of each expert, per layer, plus the 4 attention matrices, the embedding and the LM head
        assertThat(j.get("weight_dtypes").get("F32").asInt()).isEqualTo(MoeFiles.LAYERS * (4 + 1 + 3 * MoeFiles.EXPERTS) + 2);

        Cli g = Cli.run("generate", "--model", file, "--quantize", "q8_0", "--prompt", "Hello", "--max-tokens", "4");
        assertThat(g.code()).as(g.err()).isZero();
        assertThat(g.out()).isNotBlank();
    }

    @Test
    void infoOfAMoeFileThatCannotRunStillShowsItsExperts(@TempDir Path tmp) throws IOException {
        Path file = GgufFiles.withTensorType(MoeFiles.gguf(MoeFiles.Shape.OLMOE), tmp.resolve("mxfp4.gguf"), "blk.1.ffn_up_exps.weight", DType.MXFP4);
        Cli r = Cli.run("info", "--model", file.toString(), "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = CliTest.parse(r.out());
        assertThat(j.get("runs").asBoolean()).isFalse();
        assertThat(j.get("problem").asText()).endsWith("tensor blk.1.ffn_up_exps.weight has type MXFP4, not supported");
        assertThat(j.get("experts").get("count").asInt()).isEqualTo(MoeFiles.EXPERTS);
        assertThat(j.get("experts").get("per_token").asInt()).isEqualTo(MoeFiles.PER_TOKEN);
    }
}
