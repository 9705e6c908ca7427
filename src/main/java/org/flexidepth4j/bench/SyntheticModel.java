package org.flexidepth4j.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import org.flexidepth4j.model.LayerWeights;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.model.RopeConfig;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.tensor.ColumnPanels;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Matrices;
import org.flexidepth4j.tensor.Matrix;
import org.flexidepth4j.tensor.Parallel;
import org.flexidepth4j.tensor.Quantizer;

/**
 * A random-weight model of a real model's shapes, built in memory (never written to disk) so speed can be measured
 * without the weights: the arithmetic and memory traffic of a forward pass do not depend on the values.
 */
public final class SyntheticModel {
    private SyntheticModel() {
    }

    /** Llama-3.2-1B shapes: hidden 2048, FFN 8192, 16 layers, 32/8 heads of 64, vocab 128256, tied embeddings. */
    public static ModelConfig llama1b() {
        return new ModelConfig("llama", 2048, 8192, 16, 32, 8, 64, 128256, 4096, 1e-5f,
                RopeConfig.plain(500000, false), true, false, false);
    }

    /** The config of a named synthetic shape ({@code llama-1b}). */
    public static ModelConfig named(String name) {
        return switch (name) {
            case "llama-1b" -> llama1b();
            default -> throw new IllegalArgumentException("unknown synthetic model '" + name + "' (known: llama-1b)");
        };
    }

    /**
     * Random weights of {@code config} in {@code dtype} (BF16, F32, or any quantized type with a kernel: {@link
     * Matrices#supports}), allocated in {@code arena}.
     */
    public static Model build(ModelConfig c, DType dtype, Arena arena, long seed) {
        return build(c, dtype, dtype, arena, seed);
    }

    /**
     * The dtype mix of a llama.cpp Q4_K_M file: Q4_K, with Q6_K for the output matrix (the embedding when tied) and
     * for {@code v_proj} and {@code down_proj} of the layers llama.cpp's {@code use_more_bits} picks (the first and
     * last eighth, and every third layer between).
     */
    public static Model buildQ4KM(ModelConfig c, Arena arena, long seed) {
        return build(c, DType.Q4_K, DType.Q6_K, arena, seed);
    }

    private static Model build(ModelConfig c, DType dtype, DType moreBits, Arena arena, long seed) {
        for (DType t : new DType[] {dtype, moreBits}) {
            if (!(t == DType.BF16 || t == DType.F32 || t.isQuantized() && Matrices.supports(t))) {
                throw new IllegalArgumentException("synthetic weights are BF16, F32 or a quantized type with a kernel, not " + t);
            }
        }
        int d = c.hiddenSize(), qd = c.queryDim(), kvd = c.kvDim(), ff = c.intermediateSize(), n = c.numLayers();
        Matrix embedding = random(moreBits, c.vocabSize(), d, arena, seed);
        LayerWeights[] layers = new LayerWeights[n];
        for (int i = 0; i < layers.length; i++) {
            long s = seed + 16L * (i + 1);
            DType more = i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2 ? moreBits : dtype;
            layers[i] = new LayerWeights(ones(d), random(dtype, qd, d, arena, s), random(dtype, kvd, d, arena, s + 1),
                    random(more, kvd, d, arena, s + 2), random(dtype, d, qd, arena, s + 3), null, null, null, null, null, ones(d),
                    random(dtype, ff, d, arena, s + 4), random(dtype, ff, d, arena, s + 5), random(more, d, ff, arena, s + 6));
        }
        ModelWeights weights = new ModelWeights(embedding, layers, ones(d), embedding);
        return new Model(Path.of("synthetic"), "synthetic", new Transformer(c, weights), null, SkipPolicy.NONE);
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        Arrays.fill(v, 1f);
        return v;
    }

    /** {@link #generate}, a wide matrix made in a scratch arena and kept only in its decode layout ({@link ColumnPanels}). */
    private static Matrix random(DType dtype, int rows, int cols, Arena arena, long seed) {
        if (!ColumnPanels.splits(cols)) return generate(dtype, rows, cols, arena, seed);
        try (Arena scratch = Arena.ofShared()) {
            return ColumnPanels.of(generate(dtype, rows, cols, scratch, seed));
        }
    }

    /** Uniform values in +-1/sqrt(cols), so activations stay finite through many layers. */
    private static Matrix generate(DType dtype, int rows, int cols, Arena arena, long seed) {
        long rowBytes = dtype.byteSize(cols);
        MemorySegment data = arena.allocate(rowBytes * rows, 64);
        float amplitude = (float) (1 / Math.sqrt(cols));
        if (dtype.isQuantized() && dtype != DType.Q8_0 && dtype != DType.Q4_0) {
            randomBlocks(dtype, rows, rowBytes, data, seed, amplitude);
            return Matrices.of(dtype, data, rows, cols);
        }
        Parallel.pool().forRange(rows, 64, (start, end) -> {
            float[] row = new float[cols];
            for (int r = start; r < end; r++) {
                long state = rowSeed(seed, r);
                for (int j = 0; j < cols; j++) {
                    state = xorshift(state);
                    row[j] = amplitude * ((state >>> 40) * 0x1p-23f - 1f);
                }
                Quantizer.quantizeRow(dtype, row, 0, cols, data, r * rowBytes);
            }
        });
        return Matrices.of(dtype, data, rows, cols);
    }

    /** The random stream of row r: a different, never-zero start per seed and row. */
    private static long rowSeed(long seed, int r) {
        return (seed * 0x9E3779B97F4A7C15L) ^ (r * 0xBF58476D1CE4E5B9L) | 1;
    }

    /** Marsaglia's xorshift64 step. */
    private static long xorshift(long state) {
        state ^= state << 13;
        state ^= state >>> 7;
        return state ^ state << 17;
    }

    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Blocks written directly (the quantizer makes only Q8_0 and Q4_0: files bring the others): random quants, and
     * every scale (and min) set so that the values span +-amplitude like the other dtypes'. The 6-bit sub-block
     * scales of Q3_K, Q4_K, Q5_K and IQ4_XS and Q2_K's 4-bit scales and mins are all their maximum (bytes 0xFF):
     * <ul>
     * <li>Q4_1 d * 15 = 2a, m = -a; Q5_0 d * 16 = a; Q5_1 d * 31 = 2a, m = -a; IQ4_NL d * 127 = a;
     * <li>Q2_K d * 15 * 3 = 2a, dmin * 15 = a; Q3_K d * 31 * 4 = a; Q4_K d * 63 * 15 = 2a, dmin * 63 = a;
     * Q5_K d * 63 * 31 = 2a, dmin * 63 = a; Q6_K (int8 scales 127) d * 127 * 32 = a; IQ4_XS d * 31 * 127 = a.
     * </ul>
     * Q5_0, Q3_K and the IQ4 types have levels that reach further below zero than above: their d takes a random sign
     * per block, so the values are symmetric about zero.
     */
    private static void randomBlocks(DType dtype, int rows, long rowBytes, MemorySegment data, long seed, float amplitude) {
        float a = amplitude;
        Parallel.pool().forRange(rows, 64, (start, end) -> {
            for (int r = start; r < end; r++) {
                long state = rowSeed(seed, r), row = r * rowBytes;
                for (long i = 0; i < rowBytes; i += 8) {
                    state = xorshift(state);
                    for (int k = 0; k < 8 && i + k < rowBytes; k++) data.set(ValueLayout.JAVA_BYTE, row + i + k, (byte) (state >>> (8 * k)));
                }
                for (long blk = row; blk < row + rowBytes; blk += dtype.blockBytes) {
                    // a random sign for the scale of the formats whose levels reach further below zero than above
                    float sign = (data.get(ValueLayout.JAVA_BYTE, blk + dtype.blockBytes - 1) & 1) == 0 ? 1 : -1;
                    switch (dtype) {
                        case Q4_1 -> halves(data, blk, 2 * a / 15, -a);
                        case Q5_0 -> halves(data, blk, sign * a / 16);
                        case Q5_1 -> halves(data, blk, 2 * a / 31, -a);
                        case IQ4_NL -> halves(data, blk, sign * a / 127);
                        case Q2_K -> {
                            data.asSlice(blk, 16).fill((byte) 0xFF);
                            halves(data, blk + 80, 2 * a / 45, a / 15);
                        }
                        case Q3_K -> {
                            data.asSlice(blk + 96, 12).fill((byte) 0xFF);
                            halves(data, blk + 108, sign * a / 124);
                        }
                        case Q4_K, Q5_K -> {
                            halves(data, blk, 2 * a / (63 * (dtype == DType.Q4_K ? 15 : 31)), a / 63);
                            data.asSlice(blk + 4, 12).fill((byte) 0xFF);
                        }
                        case Q6_K -> {
                            data.asSlice(blk + 192, 16).fill((byte) 127);
                            halves(data, blk + 208, a / (127 * 32));
                        }
                        case IQ4_XS -> {
                            halves(data, blk, sign * a / (31 * 127));
                            data.asSlice(blk + 2, 6).fill((byte) 0xFF);
                        }
                        default -> throw new IllegalArgumentException("no random blocks for " + dtype);
                    }
                }
            }
        });
    }

    /** Consecutive fp16 values from {@code at}. */
    private static void halves(MemorySegment data, long at, float... values) {
        for (int i = 0; i < values.length; i++) data.set(LE_SHORT, at + 2L * i, Float.floatToFloat16(values[i]));
    }
}
