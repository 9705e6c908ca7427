package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class AdamWTest {
    @Test
    void stepMatchesTheFormulaAndSkipsDecayOnNorms() {
        Param w = Param.trainable("w", new float[] {1f, -2f}, 1, 2, true);
        Param norm = Param.trainable("n", new float[] {1f}, 1, 1, false);
        AdamW adam = new AdamW(List.of(w, norm), 0.9f, 0.95f, 1e-8f, 0.1f);
        w.grad()[0] = 0.5f;
        w.grad()[1] = -1f;
        norm.grad()[0] = 2f;
        adam.update(0.01f);
        // first step: m̂ = g, v̂ = g², so the move is lr·sign(g), plus decay lr·wd·w where decayed
        assertThat(w.value()[0]).isCloseTo(1f - 0.01f - 0.01f * 0.1f * 1f, within(1e-6f));
        assertThat(w.value()[1]).isCloseTo(-2f + 0.01f - 0.01f * 0.1f * -2f, within(1e-6f));
        assertThat(norm.value()[0]).isCloseTo(1f - 0.01f, within(1e-6f));
    }

    @Test
    void clippingScalesToTheMaxNorm() {
        Param w = Param.trainable("w", new float[2], 1, 2, true);
        AdamW adam = new AdamW(List.of(w), 0.9f, 0.95f, 1e-8f, 0f);
        w.grad()[0] = 3f;
        w.grad()[1] = 4f;
        assertThat(adam.clipGradNorm(1.0)).isCloseTo(5.0, within(1e-9));
        assertThat(adam.gradNorm()).isCloseTo(1.0, within(1e-5));
    }

    @Test
    void warmupThenCosine() {
        assertThat(AdamW.cosineSchedule(0, 100, 10, 1f, 0f)).isCloseTo(0.1f, within(1e-6f));
        assertThat(AdamW.cosineSchedule(9, 100, 10, 1f, 0f)).isCloseTo(1f, within(1e-6f));
        assertThat(AdamW.cosineSchedule(10, 100, 10, 1f, 0f)).isCloseTo(1f, within(1e-6f));
        assertThat(AdamW.cosineSchedule(99, 100, 10, 1f, 0.1f)).isCloseTo(0.1f, within(1e-6f));
        assertThat(AdamW.cosineSchedule(10 + 89 / 2, 100, 10, 1f, 0f)).isCloseTo(0.5f, within(0.02f));
    }
}
