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

    /** Random weights of {@code config} in {@code dtype} (BF16, F32, Q8_0, Q4_0, Q4_K or Q6_K), allocated in {@code arena}. */
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
            if (!(t == DType.BF16 || t == DType.F32 || t == DType.Q8_0 || t == DType.Q4_0 || t == DType.Q4_K || t == DType.Q6_K)) {
                throw new IllegalArgumentException("synthetic weights are BF16, F32, Q8_0, Q4_0, Q4_K or Q6_K, not " + t);
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
        if (dtype == DType.Q4_K || dtype == DType.Q6_K) {
            kQuantBlocks(dtype, rows, rowBytes, data, seed, amplitude);
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
     * K-quant blocks written directly (there is no K-quant quantizer: files bring them): random quants, and every
     * sub-block's scale and min set so that the values are uniform in +-amplitude like the other dtypes'. Q4_K: all
     * 6-bit scales and mins 63 (the 12 packed bytes all 0xFF), d * 63 * 15 = 2 amplitude, dmin * 63 = amplitude. Q6_K:
     * all int8 scales 127, d * 127 * 32 = amplitude.
     */
    private static void kQuantBlocks(DType dtype, int rows, long rowBytes, MemorySegment data, long seed, float amplitude) {
        Parallel.pool().forRange(rows, 64, (start, end) -> {
            for (int r = start; r < end; r++) {
                long state = rowSeed(seed, r), row = r * rowBytes;
                for (long i = 0; i < rowBytes; i += 8) {
                    state = xorshift(state);
                    for (int k = 0; k < 8 && i + k < rowBytes; k++) data.set(ValueLayout.JAVA_BYTE, row + i + k, (byte) (state >>> (8 * k)));
                }
                for (long blk = row; blk < row + rowBytes; blk += dtype.blockBytes) {
                    if (dtype == DType.Q4_K) {
                        data.set(LE_SHORT, blk, Float.floatToFloat16(2 * amplitude / (63 * 15)));
                        data.set(LE_SHORT, blk + 2, Float.floatToFloat16(amplitude / 63));
                        data.asSlice(blk + 4, 12).fill((byte) 0xFF);
                    } else {
                        data.asSlice(blk + 192, 16).fill((byte) 127);
                        data.set(LE_SHORT, blk + 208, Float.floatToFloat16(amplitude / (127 * 32)));
                    }
                }
            }
        });
    }
}
