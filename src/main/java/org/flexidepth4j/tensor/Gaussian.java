package org.flexidepth4j.tensor;

import java.util.SplittableRandom;

/** Normal random values for the random inits (a model trained from scratch, a fresh FlexiDepth plug-in). */
public final class Gaussian {
    private Gaussian() {
    }

    /** n values ~ N(0, std²), Box-Muller from the seeded stream: reproducible across JVMs, unlike java.util.Random's gaussian cache. */
    public static float[] normal(SplittableRandom rng, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            double u1 = 1.0 - rng.nextDouble(), u2 = rng.nextDouble();
            v[i] = (float) (std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
        return v;
    }
}
