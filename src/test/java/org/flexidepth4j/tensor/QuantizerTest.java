package org.flexidepth4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class QuantizerTest {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Activations for the integer dots (vectorized, over the pool for many tokens) are the scalar reference's bits:
     * scale max |x| / 127, each value rounded half away from zero, block sums; with exact halves, the floats just below
     * them (which rounding x + 0.5 in float would carry up), both signs and a zero block, over 70 tokens of 96 columns at a stride.
     */
    @Test
    void activationsAreTheScalarReferenceBits() {
        Random random = new Random(5);
        int tokens = 70, cols = 96, stride = 101;
        float[] x = new float[5 + tokens * stride];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian() * (i % 7 + 1);
        for (int t = 0; t < tokens; t += 2) {
            int from = 5 + t * stride;
            x[from] = 127f; // scale 1, so the values below are x / d exactly
            for (int j = 1; j < cols; j++) {
                float half = random.nextInt(127) + 0.5f, value = j % 3 == 0 ? half : j % 3 == 1 ? Math.nextDown(half) : Math.nextUp(half);
                x[from + j] = (j & 4) == 0 ? value : -value;
            }
            x[from + 7] = Math.nextDown(0.5f);
        }
        Arrays.fill(x, 5 + stride, 5 + stride + 32, 0f); // an all-zero block: scale 0, quants 0
        Q8Activations q = Q8Activations.quantize(x, 5, stride, cols, tokens);
        for (int t = 0; t < tokens; t++) {
            for (int b = 0; b < cols / 32; b++) {
                int src = 5 + t * stride + 32 * b, block = q.firstBlock(t) + b, sum = 0;
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[src + j]));
                float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
                assertThat(q.scales[block]).isEqualTo(d);
                for (int j = 0; j < 32; j++) {
                    int want = Quantizer.roundHalfAway(x[src + j] * id);
                    assertThat(q.quants[block * 32 + j]).as("token %d block %d value %d (%s)", t, b, j, x[src + j]).isEqualTo((byte) want);
                    sum += want;
                }
                assertThat(q.quantSums[block]).isEqualTo(sum);
                assertThat(q.sums[block]).isEqualTo(d * sum);
            }
        }
    }

    @Test
    void q8RoundTripErrorIsAtMostHalfAStep() {
        roundTrip(DType.Q8_0, 0.5 + 127 * 0x1p-11);
    }

    @Test
    void q4RoundTripErrorIsAtMostOneStep() {
        // The block maximum maps to -8 exactly; the opposite extreme is clamped to +7, one step away.
        roundTrip(DType.Q4_0, 1.0 + 8 * 0x1p-11);
    }

    private void roundTrip(DType dtype, double stepsAllowed) {
        Random random = new Random(7);
        int rows = 5, cols = 128;
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) values[i] = (float) (random.nextGaussian() * (1 + i % 7));
        Matrix q = Quantizer.quantize(F32Matrix.of(values, rows, cols), dtype);
        assertThat(q.dtype()).isEqualTo(dtype);
        float[] back = new float[cols];
        for (int r = 0; r < rows; r++) {
            q.readRow(r, back, 0);
            for (int b = 0; b < cols / 32; b++) {
                double amax = 0;
                for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(values[r * cols + b * 32 + i]));
                double step = amax / (dtype == DType.Q8_0 ? 127 : 8);
                for (int i = 0; i < 32; i++) {
                    int j = b * 32 + i;
                    assertThat(Math.abs(back[j] - values[r * cols + j])).as("%s row %d col %d", dtype, r, j).isLessThanOrEqualTo((float) (stepsAllowed * step));
                }
            }
        }
    }

    @Test
    void q8MatchesLlamaCppReferenceOnAKnownBlock() {
        float[] ramp = new float[32];
        for (int i = 0; i < 32; i++) ramp[i] = i - 16; // amax 16: d = 16/127, q = round(x * 127/16)
        Matrix q = Quantizer.quantize(F32Matrix.of(ramp, 1, 32), DType.Q8_0);
        assertThat(q.segment().get(LE_SHORT, 0)).isEqualTo(Float.floatToFloat16(16f / 127f));
        float id = 1f / (16f / 127f);
        for (int i = 0; i < 32; i++) {
            int expected = (int) Math.copySign(Math.floor(Math.abs((i - 16) * id) + 0.5), i - 16);
            assertThat(q.segment().get(ValueLayout.JAVA_BYTE, 2 + i)).isEqualTo((byte) expected);
        }
        // -16 * 127/16 = -127 exactly; 2 * 7.9375 = 15.875 -> 16; 1 -> 7.9375 -> 8
        assertThat(q.segment().get(ValueLayout.JAVA_BYTE, 2)).isEqualTo((byte) -127);
        assertThat(q.segment().get(ValueLayout.JAVA_BYTE, 2 + 18)).isEqualTo((byte) 16);
    }

    @Test
    void q4MatchesLlamaCppReferenceOnAKnownBlock() {
        float[] ramp = new float[32];
        for (int i = 0; i < 32; i++) ramp[i] = i - 16; // signed max -16: d = 2, value = (nibble - 8) * 2
        Matrix q = Quantizer.quantize(F32Matrix.of(ramp, 1, 32), DType.Q4_0);
        assertThat(Float.float16ToFloat(q.segment().get(LE_SHORT, 0))).isEqualTo(2f);
        // element 0 = -16 -> x*id = -8 -> nibble 0; element 16 = 0 -> nibble 8; element 31 = 15 -> 7.5+8.5=16 -> clamp 15
        assertThat(q.segment().get(ValueLayout.JAVA_BYTE, 2) & 0xFF).isEqualTo(8 << 4);
        assertThat(q.segment().get(ValueLayout.JAVA_BYTE, 2 + 15) & 0xFF).isEqualTo(8 | (15 << 4));
        float[] back = new float[32];
        q.readRow(0, back, 0);
        assertThat(back[0]).isEqualTo(-16f);
        assertThat(back[31]).isEqualTo(14f);
    }

    @Test
    void bf16RoundsToNearestEven() {
        float one = 1f, ulp = 0x1p-7f; // bf16 keeps 7 fraction bits: 1 + 2^-7 is the next value after 1
        float[] values = {one + ulp / 2, one + ulp + ulp / 2, one + ulp / 2 + 0x1p-20f, -(one + ulp / 4), 3.0e38f, Float.NaN, 0x1p-130f};
        Matrix q = Quantizer.quantize(F32Matrix.of(values, 1, values.length), DType.BF16);
        assertThat(q.dtype()).isEqualTo(DType.BF16);
        float[] back = new float[values.length];
        q.readRow(0, back, 0);
        assertThat(back[0]).isEqualTo(one);               // tie: to the even 1.0
        assertThat(back[1]).isEqualTo(one + 2 * ulp);     // tie: to the even 1 + 2^-6
        assertThat(back[2]).isEqualTo(one + ulp);         // above the tie: up
        assertThat(back[3]).isEqualTo(-one);              // below the tie: down, sign kept
        assertThat(back[4]).isFinite().isCloseTo(3.0e38f, org.assertj.core.data.Percentage.withPercentage(100.0 / 256)); // no overflow
        assertThat(back[5]).isNaN();
        assertThat(back[6]).isEqualTo(0x1p-130f);        // subnormal with few bits survives exactly
    }

    @Test
    void f32CopiesExactly() {
        float[] values = {1.1f, -2.5e-30f, 7e20f, 0f};
        float[] back = new float[4];
        Quantizer.quantize(F32Matrix.of(values, 2, 2), DType.F32).readRow(1, back, 0);
        assertThat(back[0]).isEqualTo(7e20f);
        assertThat(back[1]).isEqualTo(0f);
    }

    @Test
    void rejectsUnsupportedTargetsAndShapes() {
        assertThatThrownBy(() -> Quantizer.quantize(F32Matrix.of(new float[32], 1, 32), DType.F16)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Quantizer.quantize(F32Matrix.of(new float[30], 1, 30), DType.Q8_0)).isInstanceOf(IllegalArgumentException.class);
    }
}
