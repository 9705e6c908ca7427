package org.flexidepth4j.model;

import java.util.Arrays;
import org.flexidepth4j.tensor.Rope;

/**
 * Rotary position embedding settings. {@code interleaved}: rotate pairs (2i, 2i+1) as llama2.c and GGUF llama
 * weights require; otherwise HF's rotate-half pairs (i, i + headDim/2). {@code rotaryDim}: how many leading
 * dimensions of each head rotate (0: the whole head); the rest pass through (rotate-half pairs then span the
 * rotated part: (i, i + rotaryDim/2)). {@code scaling}: how the base frequencies are stretched for a longer context.
 */
public record RopeConfig(double theta, boolean interleaved, int rotaryDim, Scaling scaling) {
    public RopeConfig {
        if (!(theta > 0) || Double.isInfinite(theta)) throw new IllegalArgumentException("rope theta must be a finite number > 0, got " + theta);
        if (rotaryDim < 0 || rotaryDim % 2 != 0) throw new IllegalArgumentException("rotary dimension must be even and >= 0, got " + rotaryDim);
        if (scaling instanceof Yarn && theta == 1) throw new IllegalArgumentException("yarn needs rope theta != 1 (its correction range divides by log(theta))");
    }

    public static RopeConfig plain(double theta, boolean interleaved) {
        return new RopeConfig(theta, interleaved, 0, Scaling.NONE);
    }

    /** The scaling's name as HF configs spell it: "default", "linear", "llama3", "yarn" or "frequency_divisors". */
    public String type() {
        return scaling.name();
    }

    /**
     * Factor on cos and sin (so on both queries and keys) that the scaling asks for: YaRN's magnitude correction
     * for interpolation, 1 for every other scaling.
     */
    public double attentionFactor() {
        return scaling instanceof Yarn y ? y.attentionFactor() : scaling instanceof LongRope l ? l.attentionFactor() : 1;
    }

    /**
     * This RoPE for a context of {@code contextLength} positions: longrope's short factors when the context fits the
     * original one (llama.cpp's rule, by context size), itself otherwise.
     */
    public RopeConfig forContext(int contextLength) {
        if (!(scaling instanceof LongRope l) || contextLength > l.originalMaxPositions()) return this;
        return new RopeConfig(theta, interleaved, rotaryDim, new LongRope(l.shortFactors(), l.shortFactors(), l.originalMaxPositions(), l.attentionFactor()));
    }

    /** The cos/sin tables of this RoPE for heads of {@code headDim} and {@code positions} positions ({@link #forContext} applied). */
    public Rope tables(int headDim, int positions) {
        RopeConfig r = forContext(positions);
        return new Rope(r.inverseFrequencies(headDim), headDim, rotaryDim == 0 ? headDim : rotaryDim, interleaved, positions, r.attentionFactor());
    }

    /**
     * Inverse frequencies per pair of a head of {@code headDim}, computed in double with {@link #scaling} applied;
     * pairs beyond {@link #rotaryDim} get 0 (angle 0: they pass through).
     */
    public double[] inverseFrequencies(int headDim) {
        int rotated = rotaryDim == 0 ? headDim : rotaryDim;
        if (rotated > headDim) throw new IllegalArgumentException("rotary dimension " + rotated + " exceeds head_dim " + headDim);
        double[] inv = new double[headDim / 2];
        for (int i = 0; i < rotated / 2; i++) inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / rotated);
        double[] scaled = scaling.apply(Arrays.copyOf(inv, rotated / 2), theta, rotated);
        System.arraycopy(scaled, 0, inv, 0, scaled.length);
        return inv;
    }

    /** How the base inverse frequencies of the rotated pairs are stretched. */
    public sealed interface Scaling {
        Scaling NONE = new None();

        String name();

        /** The scaled inverse frequencies of {@code inv} (one per rotated pair of {@code rotated} dimensions). */
        double[] apply(double[] inv, double theta, int rotated);

        private static double requirePositive(String what, double v) {
            if (!(v > 0) || Double.isInfinite(v)) throw new IllegalArgumentException("rope " + what + " must be a finite number > 0, got " + v);
            return v;
        }
    }

    public record None() implements Scaling {
        public String name() {
            return "default";
        }

        public double[] apply(double[] inv, double theta, int rotated) {
            return inv;
        }
    }

    /** Every frequency divided by {@code factor} (position interpolation). */
    public record Linear(double factor) implements Scaling {
        public Linear {
            Scaling.requirePositive("scaling factor", factor);
        }

        public String name() {
            return "linear";
        }

        public double[] apply(double[] inv, double theta, int rotated) {
            for (int i = 0; i < inv.length; i++) inv[i] /= factor;
            return inv;
        }
    }

    /** Llama 3.1: long wavelengths divided by {@code factor}, short ones kept, a smooth blend between. */
    public record Llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) implements Scaling {
        public Llama3 {
            Scaling.requirePositive("scaling factor", factor);
            Scaling.requirePositive("low_freq_factor", lowFreqFactor);
            Scaling.requirePositive("high_freq_factor", highFreqFactor);
            Scaling.requirePositive("original_max_position_embeddings", originalMaxPositions);
            if (!(highFreqFactor > lowFreqFactor)) {
                throw new IllegalArgumentException("rope high_freq_factor " + highFreqFactor + " must be greater than low_freq_factor " + lowFreqFactor);
            }
        }

        public String name() {
            return "llama3";
        }

        public double[] apply(double[] inv, double theta, int rotated) {
            double lowWavelen = originalMaxPositions / lowFreqFactor;
            double highWavelen = originalMaxPositions / highFreqFactor;
            for (int i = 0; i < inv.length; i++) {
                double wavelen = 2 * Math.PI / inv[i];
                if (wavelen > lowWavelen) {
                    inv[i] = inv[i] / factor;
                } else if (wavelen >= highWavelen) {
                    double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                    inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
                }
            }
            return inv;
        }
    }

    /**
     * Per-pair divisors stored with the weights (GGUF {@code rope_freqs.weight}: how llama.cpp's converter writes
     * Llama 3.1+ scaling), one per rotated pair.
     */
    public record FrequencyDivisors(float[] divisors) implements Scaling {
        public FrequencyDivisors {
            for (int i = 0; i < divisors.length; i++) {
                if (!(divisors[i] > 0) || Float.isInfinite(divisors[i])) {
                    throw new IllegalArgumentException("rope frequency divisor " + i + " must be a finite number > 0, got " + divisors[i]);
                }
            }
        }

        public String name() {
            return "frequency_divisors";
        }

        public double[] apply(double[] inv, double theta, int rotated) {
            if (divisors.length != inv.length) {
                throw new IllegalArgumentException("rope_freqs has " + divisors.length + " divisors, expected one per rotated pair (" + inv.length + ")");
            }
            for (int i = 0; i < inv.length; i++) inv[i] /= divisors[i];
            return inv;
        }
    }

    /**
     * Phi-3's longrope (HF "longrope" / "su", GGUF rope_factors_short/long tensors): per-pair divisors, {@code
     * shortFactors} for contexts up to {@code originalMaxPositions} and {@code longFactors} beyond ({@link
     * RopeConfig#forContext}); {@code attentionFactor} multiplies cos and sin either way.
     */
    public record LongRope(float[] shortFactors, float[] longFactors, int originalMaxPositions, double attentionFactor) implements Scaling {
        public LongRope {
            new FrequencyDivisors(shortFactors);
            new FrequencyDivisors(longFactors);
            Scaling.requirePositive("original context length", originalMaxPositions);
            Scaling.requirePositive("longrope attention factor", attentionFactor);
        }

        /** HF's default: sqrt(1 + ln(scale) / ln(original)), scale = max positions / original (1 when not stretching). */
        public static double defaultAttentionFactor(int maxPositions, int originalMaxPositions) {
            double scale = (double) maxPositions / originalMaxPositions;
            return scale <= 1 ? 1 : Math.sqrt(1 + Math.log(scale) / Math.log(originalMaxPositions));
        }

        public String name() {
            return "longrope";
        }

        public double[] apply(double[] inv, double theta, int rotated) {
            return new FrequencyDivisors(longFactors).apply(inv, theta, rotated);
        }
    }

    /**
     * YaRN (Peng et al. 2023), as HF transformers and llama.cpp compute it: frequencies whose wavelength fits the
     * original context many times ({@code betaFast} rotations) are kept, those that fit less than {@code betaSlow}
     * rotations are divided by {@code factor}, with a linear ramp between over the pair index;
     * {@code attentionFactor} multiplies cos and sin.
     */
    public record Yarn(double factor, int originalMaxPositions, double betaFast, double betaSlow, double attentionFactor) implements Scaling {
        public Yarn {
            Scaling.requirePositive("scaling factor", factor);
            Scaling.requirePositive("original context length", originalMaxPositions);
            Scaling.requirePositive("yarn beta_fast", betaFast);
            Scaling.requirePositive("yarn beta_slow", betaSlow);
            Scaling.requirePositive("yarn attention factor", attentionFactor);
        }

        /** The default attention factor for a factor: 0.1 ln(factor) + 1 (1 when not stretching). */
        public static double defaultAttentionFactor(double factor) {
            return factor <= 1 ? 1 : 0.1 * Math.log(factor) + 1;
        }

        public String name() {
            return "yarn";
        }

        public double[] apply(double[] inv, double theta, int rotated) {
            double low = Math.max(Math.floor(correctionDim(betaFast, rotated, theta)), 0);
            double high = Math.min(Math.ceil(correctionDim(betaSlow, rotated, theta)), rotated - 1);
            double span = Math.max(high - low, 0.001);
            for (int i = 0; i < inv.length; i++) {
                double keep = 1 - Math.clamp((i - low) / span, 0, 1);
                inv[i] = inv[i] / factor * (1 - keep) + inv[i] * keep;
            }
            return inv;
        }

        /** The pair dimension whose wavelength fits the original context {@code rotations} times. */
        private double correctionDim(double rotations, int rotated, double theta) {
            return rotated * Math.log(originalMaxPositions / (rotations * 2 * Math.PI)) / (2 * Math.log(theta));
        }
    }
}
