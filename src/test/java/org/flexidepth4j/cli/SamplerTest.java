package org.flexidepth4j.cli;

import org.flexidepth4j.model.Sampler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class SamplerTest {
    static final int[] NO_HISTORY = {};

    static float[] logitsOf(double... probabilities) {
        float[] x = new float[probabilities.length];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.log(probabilities[i]);
        return x;
    }

    static int[] draws(Sampler.Settings s, float[] logits, int n) {
        Sampler sampler = new Sampler(s, logits.length);
        int[] counts = new int[logits.length];
        for (int i = 0; i < n; i++) counts[sampler.sample(logits, 0, NO_HISTORY, 0)]++;
        return counts;
    }

    static Set<Integer> support(int[] counts) {
        Set<Integer> s = new TreeSet<>();
        for (int i = 0; i < counts.length; i++) if (counts[i] > 0) s.add(i);
        return s;
    }

    static Sampler.Settings settings(int topK, float topP, float minP) {
        return new Sampler.Settings(1f, topK, topP, minP, 1f, 42);
    }

    @Test
    void greedyTakesTheLowestIdOnTies() {
        Sampler s = new Sampler(Sampler.Settings.GREEDY, 4);
        assertThat(s.sample(new float[] {1, 3, 3, 0}, 0, NO_HISTORY, 0)).isEqualTo(1);
        assertThat(s.sample(new float[] {9, 1, 3, 3, 0}, 1, NO_HISTORY, 0)).isEqualTo(1); // offset into a wider row
    }

    @Test
    void topKKeepsTheKMostLikely() {
        float[] x = {0, 5, 4, 1, 3};
        int[] counts = draws(settings(2, 1f, 0f), x, 4000);
        assertThat(support(counts)).containsExactly(1, 2);
        double p1 = Math.exp(5) / (Math.exp(5) + Math.exp(4));
        assertThat(counts[1] / 4000.0).isCloseTo(p1, org.assertj.core.data.Offset.offset(0.03));
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        float[] x = logitsOf(0.5, 0.3, 0.15, 0.05);
        assertThat(support(draws(settings(0, 0.7f, 0f), x, 3000))).containsExactly(0, 1);
        assertThat(support(draws(settings(0, 0.85f, 0f), x, 3000))).containsExactly(0, 1, 2);
        assertThat(support(draws(settings(0, 0.4f, 0f), x, 3000))).containsExactly(0);
        // top-p renormalises over what top-k kept: 0.5 / 0.8 >= 0.6
        assertThat(support(draws(settings(2, 0.6f, 0f), x, 3000))).containsExactly(0);
    }

    @Test
    void minPKeepsTokensRelativeToTheMostLikely() {
        float[] x = logitsOf(0.05, 0.5, 0.3, 0.15);
        assertThat(support(draws(settings(0, 1f, 0.25f), x, 3000))).containsExactly(1, 2, 3);
        assertThat(support(draws(settings(0, 1f, 0.5f), x, 3000))).containsExactly(1, 2);
        assertThat(support(draws(settings(0, 1f, 0f), x, 3000))).containsExactly(0, 1, 2, 3);
    }

    @Test
    void repetitionPenaltyAppliesOncePerSeenToken() {
        Sampler.Settings s = new Sampler.Settings(0f, 0, 1f, 0f, 1.5f, 0);
        assertThat(new Sampler(s, 3).sample(new float[] {2.0f, 1.9f, -1f}, 0, new int[] {0}, 1)).isEqualTo(1);
        assertThat(new Sampler(s, 2).sample(new float[] {-1f, -1.2f}, 0, new int[] {0}, 1)).isEqualTo(1);
        assertThat(new Sampler(s, 2).sample(new float[] {3.0f, 1.9f}, 0, new int[] {0, 0, 0}, 3)).isEqualTo(0);
        // only the first historyLength ids count
        assertThat(new Sampler(s, 3).sample(new float[] {2.0f, 1.9f, -1f}, 0, new int[] {2, 0}, 1)).isEqualTo(0);
    }

    @Test
    void sameSeedSameSequence() {
        float[] x = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
        Sampler.Settings s = new Sampler.Settings(1.3f, 4, 0.9f, 0.01f, 1.1f, 7);
        Sampler a = new Sampler(s, x.length), b = new Sampler(s, x.length);
        int[] history = {0, 3, 5};
        int[] sa = new int[200], sb = new int[200];
        for (int i = 0; i < 200; i++) {
            sa[i] = a.sample(x, 0, history, 3);
            sb[i] = b.sample(x, 0, history, 3);
        }
        assertThat(sa).isEqualTo(sb);
        assertThat(support(countsOf(sa, x.length)).size()).isGreaterThan(1);
    }

    static int[] countsOf(int[] ids, int vocab) {
        int[] c = new int[vocab];
        for (int id : ids) c[id]++;
        return c;
    }

    @Test
    void rejectsBadSettingsAndNaN() {
        assertThatThrownBy(() -> new Sampler.Settings(-1f, 0, 1f, 0f, 1f, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Sampler.Settings(1f, 0, 0f, 0f, 1f, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Sampler.Settings(1f, 0, 1f, 1.5f, 1f, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Sampler.Settings(1f, 0, 1f, 0f, 0f, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Sampler(Sampler.Settings.GREEDY, 2).sample(new float[] {1f, Float.NaN}, 0, NO_HISTORY, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
    }
}
