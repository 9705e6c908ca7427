package org.flexidepth4j.skip;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.ForwardingSkipPolicy;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.model.WorkCounter;

/**
 * ShortGPT-style static layer removal: a fixed set of layers is REMOVED for every token. {@link #byBlockInfluence}
 * removes the k layers with the lowest Block Influence BI_l = 1 - mean over tokens of cos(h_in, h_out).
 */
public final class StaticRemoval implements SkipPolicy {
    private final boolean[] removed;

    public StaticRemoval(boolean[] removed) {
        this.removed = removed.clone();
    }

    /** Removes the {@code k} layers of lowest Block Influence measured on the dense model over {@code calibrationIds}. */
    public static StaticRemoval byBlockInfluence(Transformer tf, int[] calibrationIds, int k) {
        return lowestInfluence(blockInfluence(tf, SkipPolicy.NONE, calibrationIds), k);
    }

    /** The policy removing the {@code k} layers with the smallest influence (ties: the earlier layer). */
    public static StaticRemoval lowestInfluence(double[] influence, int k) {
        if (k < 0 || k >= influence.length) throw new IllegalArgumentException("static:K needs 0 <= K < " + influence.length + " layers, got " + k);
        boolean[] removed = new boolean[influence.length];
        IntStream.range(0, influence.length).boxed().sorted(Comparator.comparingDouble((Integer l) -> influence[l]).thenComparing(l -> l))
                .limit(k).forEach(l -> removed[l] = true);
        return new StaticRemoval(removed);
    }

    /**
     * BI of every layer under {@code policy} (normally dense), measured by running {@code calibrationIds} in windows
     * of at most the model's context length, each window a fresh sequence.
     */
    public static double[] blockInfluence(Transformer tf, SkipPolicy policy, int[] calibrationIds) {
        if (calibrationIds == null || calibrationIds.length == 0) throw new IllegalArgumentException("Block Influence needs a non-empty calibration text");
        Meter meter = new Meter(policy, tf.config().numLayers(), tf.config().hiddenSize());
        int window = Math.min(calibrationIds.length, tf.config().maxPositions());
        InferenceState s = tf.newState(window);
        for (int start = 0; start < calibrationIds.length; start += window) {
            s.reset();
            tf.forward(s, calibrationIds, start, Math.min(window, calibrationIds.length - start), meter, false);
        }
        return meter.influence();
    }

    public int[] removedLayers() {
        return IntStream.range(0, removed.length).filter(l -> removed[l]).toArray();
    }

    @Override
    public Plan plan(int layer) {
        return removed[layer] ? Plan.REMOVED : Plan.DENSE;
    }

    @Override
    public String toString() {
        return "static removal of layers " + Arrays.toString(removedLayers());
    }

    /** Runs as {@code inner} and sums cos(h_in, h_out) per layer and token. */
    static final class Meter extends ForwardingSkipPolicy {
        private final int d;
        private final double[] cosSum;
        private long tokens;
        private float[] previous = new float[0];

        Meter(SkipPolicy inner, int layers, int d) {
            super(inner);
            this.d = d;
            this.cosSum = new double[layers];
        }

        @Override
        public void observeResidual(int layer, float[] residual, int n) {
            if (layer > 0) {
                for (int t = 0; t < n; t++) cosSum[layer - 1] += cosine(previous, residual, t * d, d);
            }
            if (layer == cosSum.length) tokens += n;
            if (previous.length < n * d) previous = new float[n * d];
            System.arraycopy(residual, 0, previous, 0, n * d);
        }

        double[] influence() {
            double[] bi = new double[cosSum.length];
            for (int l = 0; l < bi.length; l++) bi[l] = 1 - cosSum[l] / tokens;
            return bi;
        }

        private static double cosine(float[] a, float[] b, int off, int n) {
            double ab = 0, aa = 0, bb = 0;
            for (int i = off; i < off + n; i++) {
                ab += (double) a[i] * b[i];
                aa += (double) a[i] * a[i];
                bb += (double) b[i] * b[i];
            }
            return ab / Math.sqrt(aa * bb);
        }
    }
}
