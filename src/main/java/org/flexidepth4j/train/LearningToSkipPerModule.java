package org.flexidepth4j.train;

import java.util.Arrays;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.skip.BinaryRouterConfig;
import org.flexidepth4j.skip.BinaryRouterConfig.Site;
import org.flexidepth4j.tensor.VectorOps;

/**
 * Learning to Skip with a router per module: the attention's on input_layernorm(h) gives h1 = h + g_a·attention, the
 * FFN's on y = post_attention_layernorm(h1) gives out = h1 + g_f·FFN(y). Attention and FFN are computed for every
 * token.
 */
final class LearningToSkipPerModule extends LearningToSkip {
    LearningToSkipPerModule(ModelConfig config, BinaryRouterConfig settings, int maxT) {
        super(config, settings, maxT);
    }

    @Override
    Layer routedLayer(int l) {
        Router attention = router(Site.ATTENTION, l), ffn = router(Site.FFN, l);
        return new RoutedLayer(attention) {

            @Override
            public void mixAttention(float[] h, float[] att, float[] h1, int T, int d) {
                SkipRouterOps.gatedAdd(h, att, attention.gate, h1, T, d);
            }

            /** dh becomes d/d(h1), and through the identity d/dh. */
            @Override
            public void mixAttentionBackward(float[] att, float[] dh, float[] dh1, float[] dAttention, int T, int d) {
                VectorOps.add(dh1, 0, dh, 0, T * d);
                Arrays.fill(attention.dGate, 0, T, 0f);
                SkipRouterOps.gatedAddBackward(att, attention.gate, dh, dAttention, attention.dGate, T, d);
            }

            @Override
            public void readFeedForwardInput(float[] y, int T) { decide(ffn, y, T); }

            @Override
            public void readFeedForwardInputBackward(float[] y, float[] dy, int T, float scale) { decideBackward(ffn, y, dy, T, scale); }

            @Override
            public void mixOutput(float[] h, float[] h1, float[] att, float[] ffnOut, float[] out, int T, int d) {
                SkipRouterOps.gatedAdd(h1, ffnOut, ffn.gate, out, T, d);
            }

            /** dOut stays d/d(h1) through the identity. */
            @Override
            public void mixOutputBackward(float[] dOut, float[] att, float[] ffnOut, float[] dFfn, float[] dAttention, int T, int d, float scale) {
                Arrays.fill(ffn.dGate, 0, T, 0f);
                SkipRouterOps.gatedAddBackward(ffnOut, ffn.gate, dOut, dFfn, ffn.dGate, T, d);
            }
        };
    }
}
