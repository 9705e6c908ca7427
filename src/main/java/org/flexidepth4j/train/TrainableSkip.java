package org.flexidepth4j.train;

import java.util.List;
import org.flexidepth4j.tensor.VectorOps;

/**
 * The training twin of {@link org.flexidepth4j.model.SkipPolicy}: a skip method as {@link TrainableDecoder} trains
 * it. The decoder runs what every layer shares (norms, attention, FFN and their backwards); at each point where the
 * methods differ it hands over to the method's share of the layer ({@link Layer}): the gates, how the attention and
 * the FFN outputs mix into the residual, and each one's backward beside its forward. The method's extra loss term
 * ({@link #loss}) is added to the language-model loss.
 */
public interface TrainableSkip {
    /** The dense model: every layer runs in full, nothing to train. */
    TrainableSkip NONE = new TrainableSkip() {
        @Override
        public Layer layer(int l) {
            return Layer.DENSE;
        }

        @Override
        public List<Param> params() {
            return List.of();
        }

        @Override
        public double loss() {
            return 0;
        }
    };

    /** This method's share of layer l: {@link Layer#DENSE} on the layers it leaves alone. */
    Layer layer(int l);

    /** Its trainable tensors, in the order the optimizer and checkpoints list them. */
    List<Param> params();

    /** Called before each forward over {@code T} tokens (before layer 0). */
    default void startForward(int T) {
    }

    /** Its term of the loss for the last forward (0 for a method with none). */
    double loss();

    /**
     * One layer's share. Forward, in order: {@link #gate} on x = input_layernorm(h); the attention (every token);
     * {@link #mixAttention} gives h1; y = post_attention_layernorm(h1); {@link #readFeedForwardInput}; the FFN (every
     * token); {@link #mixOutput} gives the layer output. The backward runs the same steps in reverse, each named
     * after its forward. Backward steps ADD into gradients (as {@link Ops}), the decoder zeroes them first; scale is
     * the weight of this sequence's loss in the step. The defaults are the dense layer: h1 = h + attention,
     * out = h1 + FFN.
     */
    interface Layer {
        Layer DENSE = new Layer() {
        };

        /** Whether it has tensors to train here (the decoder's backward must reach this layer). */
        default boolean trains() {
            return false;
        }

        /** Decides the layer's gates for x = input_layernorm(h) [T, d]. */
        default void gate(float[] x, int T) {
        }

        /** dx += d(loss)/dx through the gates; the gate tensors' gradients. */
        default void gateBackward(float[] x, float[] dx, int T, float scale) {
        }

        /** h1 = h + the attention's share [T, d]; h1 is the FFN's residual input. */
        default void mixAttention(float[] h, float[] attention, float[] h1, int T, int d) {
            System.arraycopy(h, 0, h1, 0, T * d);
            VectorOps.add(attention, 0, h1, 0, T * d);
        }

        /**
         * On entry dh holds what {@link #mixOutputBackward} left there and dh1 = d(loss)/d(h1) through the FFN's norm;
         * on exit dh = d(loss)/dh but for the attention-norm path, and dAttention += d(loss)/d(attention).
         */
        default void mixAttentionBackward(float[] attention, float[] dh, float[] dh1, float[] dAttention, int T, int d) {
            VectorOps.add(dh1, 0, dh, 0, T * d);
            VectorOps.add(dh, 0, dAttention, 0, T * d);
        }

        /** Reads y = post_attention_layernorm(h1) [T, d] (the FFN's own gate, an adapter). */
        default void readFeedForwardInput(float[] y, int T) {
        }

        /** dy += d(loss)/dy through what {@link #readFeedForwardInput} computed. */
        default void readFeedForwardInputBackward(float[] y, float[] dy, int T, float scale) {
        }

        /** out = the layer's output from h (its input), h1, the attention and the FFN output, all [T, d]. */
        default void mixOutput(float[] h, float[] h1, float[] attention, float[] ffn, float[] out, int T, int d) {
            System.arraycopy(h1, 0, out, 0, T * d);
            VectorOps.add(ffn, 0, out, 0, T * d);
        }

        /**
         * dOut = d(loss)/d(out) on entry; dFfn and dAttention += their gradients; dOut is left holding the gradient
         * that flows on through the output's residual identity (to h1, or to h where the output adds onto h).
         */
        default void mixOutputBackward(float[] dOut, float[] attention, float[] ffn, float[] dFfn, float[] dAttention, int T, int d, float scale) {
            VectorOps.add(dOut, 0, dFfn, 0, T * d);
        }
    }
}
