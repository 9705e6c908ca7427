package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.junit.jupiter.api.Test;

/** The bench command's plumbing (its numbers are measurements, never asserted). */
class BenchCommandTest {

    @Test
    void rooflinePrintsOneRecordPerThreadCount() throws Exception {
        Cli r = Cli.run("bench", "--roofline", "--thread-counts", "1,2", "--buffer-mib", "16", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode list = Json.MAPPER.readTree(r.out());
        assertThat(list.size()).isEqualTo(2);
        assertThat(list.get(1).get("threads").asInt()).isEqualTo(2);
        assertThat(list.get(0).get("bufferBytes").asLong()).isEqualTo(16L << 20);
    }

    @Test
    void quantizedRealModelReportsItsDtypeAndBytes() throws Exception {
        Cli r = Cli.run("bench", "--model", Shared.path("models/stories260K/stories260K.bin").toString(), "--dtype", "q8_0",
                "--thread-counts", "1", "--decode-tokens", "2", "--prefill-tokens", "8", "--buffer-mib", "8", "--warm-up", "0", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode result = Json.MAPPER.readTree(r.out());
        // down_proj rows (172 columns) are not whole Q8_0 blocks and stay F32: the larger share of the bytes
        assertThat(result.get("dtype").asText()).isEqualTo("F32+Q8_0");
        assertThat(result.get("runs").get(0).has("decodeFraction")).isTrue();
    }

    @Test
    void skipModesReportTheWorkActuallyExecuted() throws Exception {
        Cli r = Cli.run("bench", "--model", Shared.path("models/stories260K/stories260K.bin").toString(), "--skip", "none,exit:2",
                "--thread-counts", "1", "--decode-tokens", "2", "--prefill-tokens", "8", "--buffer-mib", "8", "--warm-up", "0", "--repeat", "2", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode results = Json.MAPPER.readTree(r.out());
        JsonNode dense = results.get(0).get("runs").get(0), exit = results.get(1).get("runs").get(0);
        assertThat(results.get(1).get("skip").asText()).isEqualTo("exit:2");
        assertThat(dense.get("decodeLayersUsed").asDouble()).isEqualTo(5.0);
        assertThat(exit.get("decodeLayersUsed").asDouble()).isEqualTo(2.0);
        assertThat(exit.get("decodeTokensPerSecondRuns").size()).isEqualTo(2);
        assertThat(exit.get("predictedSpeedupFlops").asDouble())
                .isEqualTo(dense.get("decodeFlopsPerToken").asDouble() / exit.get("decodeFlopsPerToken").asDouble());
        // stories260K: d=64, kv 32, hidden 172, vocab 512; a decode step at position p runs 2*(64*64*2 + 2*64*32
        // + 3*64*172) per layer plus attention, and the LM head 2*64*512: the exit run drops 3 layers' worth.
        double perLayer = 2.0 * (64 * 64 * 2 + 2 * 64 * 32 + 3 * 64 * 172);
        assertThat(dense.get("decodeFlopsPerToken").asDouble() - exit.get("decodeFlopsPerToken").asDouble())
                .isGreaterThanOrEqualTo(3 * perLayer).isLessThan(3 * perLayer * 1.2);
    }

    @Test
    void withoutJsonItPrintsATableWithARowPerRun() {
        Cli r = Cli.run("bench", "--model", Shared.path("models/stories260K/stories260K.bin").toString(), "--skip", "none,exit:2",
                "--thread-counts", "1", "--decode-tokens", "2", "--prefill-tokens", "8", "--buffer-mib", "8", "--warm-up", "0");
        assertThat(r.code()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).contains("decode tok/s", "layers", "prefill tok/s").doesNotContain("{");
        assertThat(lines.get(1).split("\\s+")).contains("none", "5.00");
        assertThat(lines.get(2).split("\\s+")).contains("exit:2", "2.00");
        Cli roofline = Cli.run("bench", "--roofline", "--thread-counts", "1", "--buffer-mib", "16");
        assertThat(roofline.out().lines().toList()).hasSize(2).first().asString().contains("read GB/s", "FMA GFLOP/s");
    }

    @Test
    void streamsPrintATableWithARowPerStreamCount() {
        Cli r = Cli.run("bench", "--model", Shared.path("models/stories260K/stories260K.bin").toString(), "--streams", "1,3",
                "--thread-counts", "1", "--decode-tokens", "2");
        assertThat(r.code()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).contains("streams", "decode tok/s", "tok per CPU s").doesNotContain("{");
        assertThat(lines.get(1).split("\\s+")).contains("1", "1.00x");
        assertThat(lines.get(2).split("\\s+")).contains("3");
    }

    @Test
    void badArgumentsAreOneLineErrors() {
        Cli none = Cli.run("bench");
        assertThat(none.code()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(none.err().strip()).startsWith("flexidepth: ").contains("--roofline").doesNotContain("\n");
        Cli dtype = Cli.run("bench", "--synthetic", "llama-1b", "--dtype", "q3_x");
        assertThat(dtype.code()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(dtype.err()).contains("unknown dtype 'q3_x'");
        Cli repeat = Cli.run("bench", "--synthetic", "llama-1b", "--repeat", "0");
        assertThat(repeat.code()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(repeat.err()).contains("--repeat must be >= 1");
        Cli name = Cli.run("bench", "--synthetic", "gpt-5");
        assertThat(name.code()).isEqualTo(Main.EXIT_BAD_INPUT);
        assertThat(name.err()).contains("unknown synthetic model");
    }
}
