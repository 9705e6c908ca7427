package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.junit.jupiter.api.Test;

/** The bench command's plumbing (its numbers are measurements, never asserted). */
class BenchCommandTest {

    @Test
    void rooflinePrintsOneRecordPerThreadCount() throws Exception {
        Cli r = Cli.run("bench", "--roofline", "--thread-counts", "1,2", "--buffer-mib", "16");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode list = Json.MAPPER.readTree(r.out());
        assertThat(list.size()).isEqualTo(2);
        assertThat(list.get(1).get("threads").asInt()).isEqualTo(2);
        assertThat(list.get(0).get("bufferBytes").asLong()).isEqualTo(16L << 20);
    }

    @Test
    void quantizedRealModelReportsItsDtypeAndBytes() throws Exception {
        Cli r = Cli.run("bench", "--model", Shared.path("models/stories260K/stories260K.bin").toString(), "--dtype", "q8_0",
                "--thread-counts", "1", "--decode-tokens", "2", "--prefill-tokens", "8", "--buffer-mib", "8");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode result = Json.MAPPER.readTree(r.out());
        assertThat(result.get("dtype").asText()).isEqualTo("Q8_0");
        assertThat(result.get("runs").get(0).has("decodeFraction")).isTrue();
    }

    @Test
    void badArgumentsAreOneLineErrors() {
        Cli none = Cli.run("bench");
        assertThat(none.code()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(none.err().strip()).startsWith("flexidepth: ").contains("--roofline").doesNotContain("\n");
        Cli dtype = Cli.run("bench", "--synthetic", "llama-1b", "--dtype", "q3_x");
        assertThat(dtype.code()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(dtype.err()).contains("unknown dtype 'q3_x'");
        Cli name = Cli.run("bench", "--synthetic", "gpt-5");
        assertThat(name.code()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(name.err()).contains("unknown synthetic model");
    }
}
