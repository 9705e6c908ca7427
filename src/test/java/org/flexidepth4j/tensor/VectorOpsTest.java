package org.flexidepth4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The JIT-independent exp and lane sum against double-precision references. */
class VectorOpsTest {
    @Test
    void expIsWithinTwoUlpAndTheScalarTwinGivesTheSameBits() {
        Random random = new Random(7);
        float[] x = new float[4096];
        for (int i = 0; i < x.length; i++) x[i] = (float) (random.nextDouble() * 175 - 87); // the whole clamped range
        x[0] = 0f;
        x[1] = -87f;
        x[2] = 88f;
        x[3] = 1e-7f;
        float[] v = new float[x.length];
        for (int i = 0; i < x.length; i += FloatVector.SPECIES_PREFERRED.length()) {
            VectorOps.exp(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, x, i)).intoArray(v, i);
        }
        for (int i = 0; i < x.length; i++) {
            float want = (float) Math.exp(x[i]);
            assertThat(Math.abs(v[i] - want)).as("exp(%s)", x[i]).isLessThanOrEqualTo(2 * Math.ulp(want));
            assertThat(Float.floatToRawIntBits(VectorOps.exp(x[i]))).as("scalar exp(%s)", x[i]).isEqualTo(Float.floatToRawIntBits(v[i]));
        }
        assertThat(VectorOps.exp(0f)).isEqualTo(1f);
        assertThat(VectorOps.exp(-1000f)).isGreaterThan(0f).isLessThan(1e-37f); // clamped, never 0 or NaN
        assertThat(VectorOps.exp(Float.NaN)).isNaN();
    }

    @Test
    void laneSumFollowsAFixedPairwiseTree() {
        int n = FloatVector.SPECIES_PREFERRED.length();
        float[] lanes = new float[n];
        for (int i = 0; i < n; i++) lanes[i] = (float) Math.scalb(1.0 + i / 16.0, 3 * i - 12);
        // Lane i meets lane i + n/2 first, then i + n/4, ...: the tree the sum must follow exactly.
        float[] tree = lanes.clone();
        for (int half = n / 2; half >= 1; half /= 2) {
            for (int i = 0; i < half; i++) tree[i] = tree[i] + tree[i + half];
        }
        assertThat(VectorOps.sum(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, lanes, 0))).isEqualTo(tree[0]);
    }
}
