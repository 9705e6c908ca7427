package org.flexidepth4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The vectorized quantization of activations gives llama.cpp's quantize_row_q8_0_ref values bit for bit (written
 * out here in scalar form): random rows, rows whose scaled values fall exactly on halves (the rounding ties), zero
 * blocks, and a strided layout.
 */
class Q8ActivationsTest {
    @Test
    void quantizationIsTheScalarDefinitionBitForBit() {
        Random random = new Random(11);
        int cols = 96, tokens = 5, stride = cols + 3, offset = 2;
        float[] x = new float[offset + tokens * stride];
        for (int i = 0; i < x.length; i++) x[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(7) - 3));
        // token 1: block 0 all zero; block 1 values k/2 * d with max 127 * d, so x / d lands on halves (ties) both signs
        int t1 = offset + stride;
        for (int j = 0; j < 32; j++) x[t1 + j] = 0f;
        for (int j = 0; j < 32; j++) x[t1 + 32 + j] = j == 0 ? 127f : (j % 2 == 0 ? 1 : -1) * (j + 0.5f);
        // token 2: values one ulp either side of the halves
        for (int j = 0; j < 32; j++) x[offset + 2 * stride + j] = j == 0 ? 127f : Math.nextUp(j + 0.5f) * (j % 3 == 0 ? -1 : 1);
        for (int j = 32; j < 64; j++) x[offset + 2 * stride + j] = j == 32 ? -127f : Math.nextDown(j - 32 + 0.5f);
        Q8Activations q = Q8Activations.quantize(x, offset, stride, cols, tokens);
        int blocks = cols / 32;
        for (int t = 0; t < tokens; t++) {
            for (int b = 0; b < blocks; b++) {
                int src = offset + t * stride + b * 32, block = t * blocks + b;
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[src + j]));
                float d = amax / 127f, id = d != 0 ? 1f / d : 0f;
                int sum = 0;
                assertThat(q.scales[block]).isEqualTo(d);
                for (int j = 0; j < 32; j++) {
                    int v = (int) Math.copySign(Math.floor(Math.abs((double) (x[src + j] * id)) + 0.5), x[src + j] * id);
                    assertThat(q.quants[block * 32 + j]).as("token %d block %d value %d (%s)", t, b, j, x[src + j]).isEqualTo((byte) v);
                    sum += v;
                }
                assertThat(q.sums[block]).isEqualTo(d * sum);
            }
        }
        assertThat(q.quants[(blocks + 1) * 32 + 1]).isEqualTo((byte) -2); // -1.5 rounds away from zero
        assertThat(q.quants[(blocks + 1) * 32 + 2]).isEqualTo((byte) 3); // 2.5 too
    }
}
