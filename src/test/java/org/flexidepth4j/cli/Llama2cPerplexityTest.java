package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The paragraph perplexity protocol over the whole TinyStories file against the float64 references. */
class Llama2cPerplexityTest {

    @ParameterizedTest
    @CsvSource({
        "models/stories260K/stories260K.bin, models/stories260K/stories260K_ppl_reference_tinystories_part1.json",
        "models/llama2xs-tinystories/model.bin, models/llama2xs-tinystories/model_ppl_reference_tinystories_part1.json"})
    void meanNllMatchesReference(String model, String reference) throws Exception {
        JsonNode want = Json.read(Shared.path(reference)).get("result");
        Cli r = Cli.run("perplexity", "--model", Shared.path(model).toString(),
                "--tokenizer", Shared.path("models/stories260K/tok512.bin").toString(),
                "--file", Shared.path("data/text/tinystories/tinystories_train_head_cased_part1.txt").toString(),
                "--split-paragraphs", "--max-tokens", "256", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode got = Json.MAPPER.readTree(r.out());
        assertThat(got.get("tokens").asInt()).isEqualTo(want.get("predicted_tokens").asInt());
        assertThat(got.get("mean_nll").asDouble()).isCloseTo(want.get("mean_nll").asDouble(), within(1e-3));
    }
}
