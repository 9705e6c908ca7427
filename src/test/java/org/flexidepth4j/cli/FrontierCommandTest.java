package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.skip.FlexiDepthFiles;
import org.flexidepth4j.skip.FlexiDepthTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FrontierCommandTest {
    private static final Path TINYLM = Shared.path("models/tinylm-12l");

    @Test
    void frontierMeasuresEveryPolicyOnTheSameHeldOutIds(@TempDir Path tmp) throws Exception {
        Model base = ModelLoader.load(TINYLM);
        Path plugin = tmp.resolve("plugin.safetensors");
        FlexiDepthFiles.save(FlexiDepthTensor.randomInit(base.config(), new int[] {6, 7, 8, 9, 10, 11}, 16, 16, 3, 0.02), plugin);
        Path text = tmp.resolve("heldout.txt");
        Files.writeString(text, "Once upon a time there was a little girl named Lily. She loved to play outside in the sun. "
                .repeat(12));
        Path out = tmp.resolve("frontier");
        Cli r = Cli.run("frontier", "--model", TINYLM.toString(), "--plugins", plugin.toString(), "--file", text.toString(),
                "--calibration", text.toString(), "--static-max", "2", "--max-tokens", "64", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();

        JsonNode points = Json.read(out.resolve("frontier.json")).get("points");
        assertThat(points).hasSize(5);
        assertThat(points.get(0).get("method").asText()).isEqualTo("dense");
        assertThat(points.get(0).get("mean_layers_skipped").asDouble()).isZero();
        // The plug-in's point is what `perplexity` reports for the same windows, up to float rounding: the decode-path
        // kernels sum lanes with reduceLanes, whose order differs interpreted and compiled (measured: 3e-8 apart when
        // the second command ran with more of the code compiled).
        Cli ppl = Cli.run("perplexity", "--model", TINYLM.toString(), "--adapters", plugin.toString(), "--skip", "flexidepth",
                "--file", text.toString(), "--max-tokens", "64", "--json");
        JsonNode direct = Json.MAPPER.readTree(ppl.out());
        JsonNode fd = points.get(1), random = points.get(2);
        assertThat(fd.get("method").asText()).isEqualTo("flexidepth");
        assertThat(fd.get("heldout_nll").asDouble()).isCloseTo(direct.get("mean_nll").asDouble(), within(1e-6));
        assertThat(fd.get("mean_layers_skipped").asDouble()).isCloseTo(direct.get("mean_layers_skipped").asDouble(), within(1e-9))
                .isGreaterThan(0.5);
        // Random skipping is drawn at the plug-in's rate, on its layers: the same skip up to sampling noise.
        assertThat(random.get("method").asText()).isEqualTo("random");
        assertThat(random.get("mean_layers_skipped").asDouble()).isCloseTo(fd.get("mean_layers_skipped").asDouble(), within(0.3));
        for (int k = 1; k <= 2; k++) {
            JsonNode s = points.get(2 + k);
            assertThat(s.get("mode").asText()).isEqualTo("static:" + k);
            assertThat(s.get("mean_layers_skipped").asDouble()).isCloseTo(k, within(1e-9));
            assertThat(s.get("vs_dense").asDouble()).isGreaterThan(0);
        }
        assertThat(Files.readString(out.resolve("frontier.md"))).contains("| static | `static:2` |");
        byte[] png = Files.readAllBytes(out.resolve("frontier.png"));
        assertThat(png).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
    }

    @Test
    void missingPluginIsAOneLineError(@TempDir Path tmp) throws Exception {
        Path text = tmp.resolve("t.txt");
        Files.writeString(text, "Some text.");
        Cli r = Cli.run("frontier", "--model", TINYLM.toString(), "--plugins", tmp.resolve("none.safetensors").toString(),
                "--file", text.toString(), "--out", tmp.resolve("o").toString());
        assertThat(r.code()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(r.err()).contains("none.safetensors").doesNotContain("\tat ");
    }
}
