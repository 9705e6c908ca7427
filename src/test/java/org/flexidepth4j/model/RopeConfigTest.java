package org.flexidepth4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Inverse frequencies of each scaling against values computed independently from transformers' formulas. */
class RopeConfigTest {

    @Test
    void yarnKeepsFastPairsStretchesSlowOnesAndRampsBetween() {
        // theta 10000, head 64, factor 4, original context 256, betas 32/1: correction range [0, 13]
        RopeConfig rope = new RopeConfig(10000, false, 0, new RopeConfig.Yarn(4, 256, 32, 1, RopeConfig.Yarn.defaultAttentionFactor(4)));
        double[] inv = rope.inverseFrequencies(64);
        assertThat(inv[0]).isEqualTo(1.0);
        assertThat(inv[5]).isCloseTo(0.1687323598259255, within(1e-15));
        assertThat(inv[8]).isCloseTo(0.05384615384615385, within(1e-15));
        assertThat(inv[12]).isCloseTo(0.009730085108210397, within(1e-15));
        assertThat(inv[20]).isCloseTo(0.0007905694150420947, within(1e-16));
        assertThat(inv[31]).isCloseTo(3.33380358040831e-05, within(1e-18));
        assertThat(rope.attentionFactor()).isCloseTo(1.138629436111989, within(1e-15));
    }

    @Test
    void linearDividesEveryFrequencyAndDivisorsDivideEachPair() {
        double[] plain = RopeConfig.plain(10000, true).inverseFrequencies(8);
        double[] linear = new RopeConfig(10000, true, 0, new RopeConfig.Linear(2)).inverseFrequencies(8);
        double[] divided = new RopeConfig(10000, true, 0, new RopeConfig.FrequencyDivisors(new float[] {1, 2, 4, 8})).inverseFrequencies(8);
        assertThat(plain).containsExactly(new double[] {1, 0.1, 0.01, 0.001}, within(1e-15));
        for (int i = 0; i < 4; i++) {
            assertThat(linear[i]).isEqualTo(plain[i] / 2);
            assertThat(divided[i]).isEqualTo(plain[i] / (1 << i));
        }
        assertThat(RopeConfig.plain(10000, true).attentionFactor()).isEqualTo(1);
    }

    @Test
    void partialRotaryRotatesTheLeadingPairsWithTheirOwnDimension() {
        // 4 of 8 dimensions rotate: frequencies over a 4-dimensional rotation, the last two pairs stand still
        double[] inv = new RopeConfig(10000, true, 4, RopeConfig.Scaling.NONE).inverseFrequencies(8);
        assertThat(inv).containsExactly(new double[] {1, 0.01, 0, 0}, within(1e-15));
        assertThatThrownBy(() -> new RopeConfig(10000, true, 16, RopeConfig.Scaling.NONE).inverseFrequencies(8)).hasMessageContaining("exceeds head_dim 8");
    }

    @Test
    void valuesThatWouldGiveNanOrDivideByZeroAreRefused() {
        for (double theta : new double[] {0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertThatThrownBy(() -> RopeConfig.plain(theta, false)).hasMessageContaining("rope theta");
        }
        assertThatThrownBy(() -> new RopeConfig.Linear(0)).hasMessageContaining("scaling factor");
        assertThatThrownBy(() -> new RopeConfig.Llama3(8, 4, 4, 256)).hasMessageContaining("high_freq_factor 4.0 must be greater than low_freq_factor 4.0");
        assertThatThrownBy(() -> new RopeConfig.Llama3(8, 1, 4, 0)).hasMessageContaining("original_max_position_embeddings");
        assertThatThrownBy(() -> new RopeConfig.FrequencyDivisors(new float[] {1, 0})).hasMessageContaining("divisor 1");
        assertThatThrownBy(() -> new RopeConfig.FrequencyDivisors(new float[] {Float.NaN})).hasMessageContaining("divisor 0");
        assertThatThrownBy(() -> new RopeConfig.Yarn(4, 256, 32, 1, Double.POSITIVE_INFINITY)).hasMessageContaining("attention factor");
        assertThatThrownBy(() -> new RopeConfig(1, false, 0, new RopeConfig.Yarn(4, 256, 32, 1, 1))).hasMessageContaining("theta != 1");
        assertThatThrownBy(() -> new RopeConfig(10000, true, 0, new RopeConfig.FrequencyDivisors(new float[3])).inverseFrequencies(8))
                .hasMessageContaining("divisor 0");
        assertThatThrownBy(() -> new RopeConfig(10000, true, 0, new RopeConfig.FrequencyDivisors(new float[] {1, 1, 1})).inverseFrequencies(8))
                .hasMessageContaining("3 divisors, expected one per rotated pair (4)");
    }
}
