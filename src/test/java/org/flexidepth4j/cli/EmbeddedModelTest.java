package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.load.EmbeddedModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** With no --model the embedded tinylm-12l is extracted once into the cache and generates its reference ids. */
class EmbeddedModelTest {
    @TempDir
    Path cache;

    @AfterEach
    void clearProperty() {
        System.clearProperty(EmbeddedModel.CACHE_PROPERTY);
    }

    @Test
    void generatesGreedyReferenceAndStopsOnEos() throws Exception {
        System.setProperty(EmbeddedModel.CACHE_PROPERTY, cache.toString());
        // "In the beginning": the reference continuation reaches EOS (id 0) after 17 tokens.
        JsonNode ref = Json.read(Shared.path("models/tinylm-12l/reference.json")).get("greedy").get(3);
        List<Integer> want = new ArrayList<>();
        for (JsonNode n : ref.get("output_ids")) {
            want.add(n.asInt());
            if (n.asInt() == 0) break;
        }
        List<Integer> prompt = new ArrayList<>();
        ref.get("input_ids").forEach(n -> prompt.add(n.asInt()));
        String ids = String.join(",", prompt.stream().map(String::valueOf).toList());

        // The reference is the dense model; the embedded copy routes with its shipped FlexiDepth plug-in by default.
        Cli r = Cli.run("generate", "--ids", ids, "--max-tokens", "48", "--temperature", "0", "--skip", "none", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = CliTest.parse(r.out());
        List<Integer> got = new ArrayList<>();
        j.get("ids").forEach(n -> got.add(n.asInt()));
        assertThat(got).isEqualTo(want);
        assertThat(j.get("stop").asText()).isEqualTo("eos");
        assertThat(j.get("layers_used")).hasSize(want.size());

        Path extracted = EmbeddedModel.directory();
        Files.delete(extracted.resolve("config.json")); // a later run must reuse the copy, not extract again
        assertThat(EmbeddedModel.directory()).isEqualTo(extracted);
        assertThat(extracted.resolve("config.json")).doesNotExist();
        try (Stream<Path> entries = Files.list(cache)) {
            List<Path> dirs = entries.toList();
            assertThat(dirs).hasSize(1); // no temp directory left behind
            assertThat(dirs.getFirst().getFileName().toString()).startsWith("tinylm-12l-");
            assertThat(Files.mismatch(dirs.getFirst().resolve("model.safetensors"), Shared.path("models/tinylm-12l/model.safetensors"))).isEqualTo(-1);
        }
    }

    /**
     * The shipped router (docs/RESULTS.md: the plug-in on layers 6-11 trained at alpha 5e-3, then 2.5e-3 and 1.5e-3
     * with 32-sequence batches) on its held-out text, the first 200,000 bytes of the Sherlock Holmes stories, which
     * router training never saw: mean NLL 3.5807 with 1.75 of 12 layers skipped per token (dense: 3.3142).
     */
    @Test
    void shippedRouterKeepsTheHeldOutNllOfTheResults() throws Exception {
        System.setProperty(EmbeddedModel.CACHE_PROPERTY, cache.toString());
        byte[] sherlock = Files.readAllBytes(Shared.path("data/text/misc/sherlock_holmes_adventures_pg1661.txt"));
        Path heldOut = cache.resolve("sherlock200k.txt");
        Files.write(heldOut, java.util.Arrays.copyOf(sherlock, 200_000));
        Cli r = Cli.run("perplexity", "--file", heldOut.toString(), "--max-tokens", "256", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = Json.MAPPER.readTree(r.out());
        assertThat(j.get("mean_nll").asDouble()).isCloseTo(HELD_OUT_NLL, org.assertj.core.data.Offset.offset(5e-4));
        assertThat(j.get("mean_layers_skipped").asDouble()).isCloseTo(HELD_OUT_SKIPPED, org.assertj.core.data.Offset.offset(0.01));
    }

    private static final double HELD_OUT_NLL = 3.5807, HELD_OUT_SKIPPED = 1.75;
}
