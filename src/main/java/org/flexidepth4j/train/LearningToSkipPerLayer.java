package org.flexidepth4j.train;

import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.skip.BinaryRouterConfig;
import org.flexidepth4j.skip.BinaryRouterConfig.Site;
import org.flexidepth4j.tensor.VectorOps;

/**
 * Learning to Skip with one router per layer, on input_layernorm(h): out = h + g·(attention + FFN), so a skip is the
 * exact identity. The FFN reads h1 = h + attention for every token (the whole block is computed, then gated).
 */
final class LearningToSkipPerLayer extends LearningToSkip {
    LearningToSkipPerLayer(ModelConfig config, BinaryRouterConfig settings, int maxT) {
        super(config, settings, maxT);
    }

    @Override
    Layer routedLayer(int l) {
        Router r = router(Site.LAYER, l);
        return new RoutedLayer(r) {

            /** The FFN's input h1 = h + attention feeds the FFN of every token; dh1 reaches h and the attention. */
            @Override
            public void mixAttentionBackward(float[] attention, float[] dh, float[] dh1, float[] dAttention, int T, int d) {
                VectorOps.add(dh1, 0, dh, 0, T * d);
                VectorOps.add(dh1, 0, dAttention, 0, T * d);
            }

            @Override
            public void mixOutput(float[] h, float[] h1, float[] attention, float[] ffn, float[] out, int T, int d) {
                SkipRouterOps.gatedAdd(h, attention, r.gate, out, T, d);
                SkipRouterOps.gatedAdd(out, ffn, r.gate, out, T, d);
            }

            /** dOut stays d/dh through the identity. */
            @Override
            public void mixOutputBackward(float[] dOut, float[] attention, float[] ffn, float[] dFfn, float[] dAttention, int T, int d, float scale) {
                java.util.Arrays.fill(r.dGate, 0, T, 0f);
                SkipRouterOps.gatedAddBackward(attention, r.gate, dOut, dAttention, r.dGate, T, d);
                SkipRouterOps.gatedAddBackward(ffn, r.gate, dOut, dFfn, r.dGate, T, d);
            }
        };
    }
}
