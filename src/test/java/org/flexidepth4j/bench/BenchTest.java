package org.flexidepth4j.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.List;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.LayerWeights;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.RopeConfig;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.skip.EarlyExit;
import org.flexidepth4j.tensor.DType;
import org.junit.jupiter.api.Test;

/** The benchmark's bookkeeping (never its speed): shapes, bytes per token, ceilings, JSON form. */
class BenchTest {

    @Test
    void llama1bHasTheRealModelsParameterCount() {
        // Llama-3.2-1B: 1,235,814,400 parameters with tied embeddings.
        assertThat(SyntheticModel.llama1b().parameterCount()).isEqualTo(1_235_814_400L);
        assertThatThrownBy(() -> SyntheticModel.named("gpt-5")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void resultCeilingsFollowFromTheRooflineAndTheWeights() throws Exception {
        ModelConfig c = new ModelConfig("llama", 64, 128, 2, 4, 2, 16, 256, 64, 1e-5f, RopeConfig.plain(10000, false), true, false, false);
        try (Arena arena = Arena.ofShared()) {
            Model model = SyntheticModel.build(c, DType.Q8_0, arena, 3);
            LayerWeights l = model.transformer().weights().layers()[0];
            assertThat(l.wq().dtype()).isEqualTo(DType.Q8_0);
            long perLayer = 34L * (64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 64 * 128) / 32;
            assertThat(model.transformer().weights().bytesPerToken()).isEqualTo(2 * perLayer + 34L * 256 * 64 / 32);

            Bench.Result r = Bench.run(model, List.of(1), 2, 8, 1 << 22);
            assertThat(r.dtype()).isEqualTo("Q8_0");
            Bench.Run run = r.runs().get(0);
            assertThat(run.decodeCeiling()).isCloseTo(run.roofline().readGBps() * 1e9 / r.weightBytesPerToken(), org.assertj.core.data.Percentage.withPercentage(1e-9));
            assertThat(run.decodeFraction()).isCloseTo(run.decodeTokensPerSecond() / run.decodeCeiling(), org.assertj.core.data.Percentage.withPercentage(1e-9));
            // prefill FLOPs of 8 tokens: 2 x (layer matmuls + one LM-head row + causal attention)
            double flops = 2.0 * (8 * 2 * (64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 64 * 128) + 256 * 64 + 2 * 2 * 64 * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8));
            assertThat(run.prefillCeiling()).isCloseTo(run.roofline().fmaGflops() * 1e9 / (flops / 8), org.assertj.core.data.Percentage.withPercentage(1e-6));
            String json = Json.MAPPER.writeValueAsString(r);
            assertThat(json).contains("\"decodeFraction\"", "\"prefillFraction\"", "\"readGBps\"").doesNotContain("readWithCompute");
        }
    }

    @Test
    void directlyWrittenSyntheticBlocksSpanTheAmplitude() {
        ModelConfig c = new ModelConfig("llama", 256, 512, 1, 4, 2, 64, 512, 64, 1e-5f, RopeConfig.plain(10000, false), true, false, false);
        for (DType dtype : new DType[] {DType.Q4_K, DType.Q6_K, DType.Q4_1, DType.Q5_0, DType.Q5_1, DType.Q2_K, DType.Q3_K, DType.Q5_K,
                DType.IQ4_NL, DType.IQ4_XS}) {
            try (Arena arena = Arena.ofShared()) {
                Model model = SyntheticModel.build(c, dtype, arena, 3);
                var wq = model.transformer().weights().layers()[0].wq();
                assertThat(wq.dtype()).isEqualTo(dtype);
                float[] row = new float[256];
                double amplitude = 1 / Math.sqrt(256), min = 0, max = 0, sum = 0;
                for (int r = 0; r < wq.rows(); r++) {
                    wq.readRow(r, row, 0);
                    for (float v : row) {
                        min = Math.min(min, v);
                        max = Math.max(max, v);
                        sum += v;
                    }
                }
                // the scales are stored as fp16 (rounded), so the range is the amplitude to within a few percent
                assertThat(max).as(dtype + " max").isBetween(0.9 * amplitude, 1.05 * amplitude);
                assertThat(min).as(dtype + " min").isBetween(-1.05 * amplitude, -0.9 * amplitude);
                assertThat(Math.abs(sum / (wq.rows() * 256.0))).as(dtype + " mean").isLessThan(0.05 * amplitude);
            }
        }
    }

    @Test
    void q4kmMixFollowsLlamaCppsLayerChoice() {
        ModelConfig c = new ModelConfig("llama", 256, 512, 16, 4, 2, 64, 512, 64, 1e-5f, RopeConfig.plain(10000, false), true, false, false);
        try (Arena arena = Arena.ofShared()) {
            Model model = SyntheticModel.buildQ4KM(c, arena, 3);
            var w = model.transformer().weights();
            // use_more_bits for 16 layers: the first two, the last two, and 4, 7, 10, 13
            List<Integer> moreBits = new java.util.ArrayList<>();
            for (int i = 0; i < 16; i++) {
                LayerWeights l = w.layers()[i];
                assertThat(l.wq().dtype()).isEqualTo(DType.Q4_K);
                assertThat(l.wDown().dtype()).isEqualTo(l.wv().dtype());
                if (l.wv().dtype() == DType.Q6_K) moreBits.add(i);
            }
            assertThat(moreBits).containsExactly(0, 1, 4, 7, 10, 13, 14, 15);
            assertThat(w.lmHead().dtype()).isEqualTo(DType.Q6_K);
            assertThat(w.dtypeMix()).isEqualTo("Q4_K+Q6_K");
        }
    }

    @Test
    void rooflineWithComputeAddsTheLoadedStreams() throws Exception {
        Roofline roof = Roofline.withCompute(1 << 22, 1);
        assertThat(roof.readWithCompute()).extracting(Roofline.LoadedRead::fmaPer128Bytes).containsExactly(8, 16, 32);
        assertThat(roof.readWithCompute()).allSatisfy(l -> assertThat(l.readGBps()).isPositive().isFinite());
        assertThat(Json.MAPPER.writeValueAsString(roof)).contains("\"readWithCompute\"", "\"fmaPer128Bytes\"");
    }

    @Test
    void interleavedModesReportMediansAndPredictionsFromTheCountedWork() {
        ModelConfig c = new ModelConfig("llama", 64, 128, 4, 4, 2, 16, 256, 64, 1e-5f, RopeConfig.plain(10000, false), true, false, false);
        try (Arena arena = Arena.ofShared()) {
            Model model = SyntheticModel.build(c, DType.BF16, arena, 3);
            List<Bench.Mode> modes = List.of(new Bench.Mode("none", SkipPolicy.NONE), new Bench.Mode("exit:2", new EarlyExit(2, 4)));
            List<Bench.Result> results = Bench.compare(model, modes, List.of(1), 3, 8, 3, 1 << 22, 0);
            assertThat(results).extracting(Bench.Result::skip).containsExactly("none", "exit:2");
            Bench.Run dense = results.get(0).runs().get(0), exit = results.get(1).runs().get(0);
            assertThat(results.get(1).repeats()).isEqualTo(3);
            assertThat(exit.decodeTokensPerSecondRuns()).hasSize(3);
            assertThat(dense.decodeSpeedup()).isEqualTo(1.0);
            assertThat(dense.decodeCpuSpeedup()).isEqualTo(1.0);
            assertThat(exit.decodeCpuTokensPerSecond()).isPositive();
            // bf16 weights: a dense step reads 2 bytes per layer weight and LM-head weight, plus the K/V cache
            assertThat(dense.decodeBytesPerToken()).isGreaterThan(model.transformer().weights().bytesPerToken());
            assertThat(exit.decodeLayersUsed()).isEqualTo(2.0);
            assertThat(exit.predictedSpeedupFlops()).isEqualTo(dense.decodeFlopsPerToken() / exit.decodeFlopsPerToken());
            assertThat(exit.predictedSpeedupBytes()).isEqualTo(dense.decodeBytesPerToken() / exit.decodeBytesPerToken());
            assertThat(exit.predictedSpeedup()).isEqualTo(exit.decodeBound().equals("memory") ? exit.predictedSpeedupBytes() : exit.predictedSpeedupFlops());
        }
        assertThatThrownBy(() -> Bench.compare(null, List.of(), List.of(1), 1, 2, 1, 1, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
