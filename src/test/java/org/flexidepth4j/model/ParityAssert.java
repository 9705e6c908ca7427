package org.flexidepth4j.model;

import static org.assertj.core.api.Assertions.assertThat;

/** The parity measure of the project: max |got - want| / max |want| over a whole logits tensor. */
public final class ParityAssert {
    private ParityAssert() {
    }

    public static double relativeError(float[] got, int gotOffset, float[] want, int wantOffset, int n) {
        double maxErr = 0, maxRef = 0;
        for (int i = 0; i < n; i++) {
            maxErr = Math.max(maxErr, Math.abs(got[gotOffset + i] - want[wantOffset + i]));
            maxRef = Math.max(maxRef, Math.abs(want[wantOffset + i]));
        }
        return maxErr / maxRef;
    }

    public static void assertClose(float[] got, float[] want, double tolerance, String what) {
        assertThat(got.length).as(what + " length").isGreaterThanOrEqualTo(want.length);
        assertThat(relativeError(got, 0, want, 0, want.length)).as(what + " relative error").isLessThanOrEqualTo(tolerance);
    }
}
