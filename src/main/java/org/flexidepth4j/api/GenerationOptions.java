package org.flexidepth4j.api;

import java.util.ArrayList;
import java.util.List;
import org.flexidepth4j.model.Sampler;

/**
 * How to generate: sampling (temperature, top-k, top-p, min-p, repetition penalty, seed), stop strings, skip mode
 * and the token budget. Immutable; made with {@link #builder()}. Defaults are the CLI's: temperature 0.8, top-k 40,
 * top-p 0.95, min-p 0.05, repetition penalty 1, a fresh seed per call, no stop strings, the model's own skip mode,
 * 256 tokens at most.
 *
 * @param seed     null: a fresh seed per generation (reported in the result)
 * @param skipMode {@code default} (the model's own FlexiDepth plug-in if it has one, else dense), {@code none},
 *                 {@code flexidepth[:T]}, {@code random:P}, {@code exit:L}, {@code forced:P}, {@code static:K} (with a
 *                 calibration text given to the loader)
 * @param skipSeed seed of the random:P and forced:P draws
 */
public record GenerationOptions(int maxTokens, float temperature, int topK, float topP, float minP, float repetitionPenalty,
                                Long seed, List<String> stops, String skipMode, long skipSeed) {
    /** The defaults. */
    public static final GenerationOptions DEFAULTS = builder().build();
    /** Greedy decoding (temperature 0: the most likely token, the lowest id on ties), otherwise the defaults. */
    public static final GenerationOptions GREEDY = builder().temperature(0).build();

    public GenerationOptions {
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        stops = List.copyOf(stops);
        if (skipMode == null || skipMode.isBlank()) throw new IllegalArgumentException("the skip mode must not be empty");
        new Sampler.Settings(temperature, topK, topP, minP, repetitionPenalty, 0); // checks the sampling values
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.maxTokens = maxTokens;
        b.temperature = temperature;
        b.topK = topK;
        b.topP = topP;
        b.minP = minP;
        b.repetitionPenalty = repetitionPenalty;
        b.seed = seed;
        b.stops = new ArrayList<>(stops);
        b.skipMode = skipMode;
        b.skipSeed = skipSeed;
        return b;
    }

    Sampler.Settings samplerSettings(long actualSeed) {
        return new Sampler.Settings(temperature, topK, topP, minP, repetitionPenalty, actualSeed);
    }

    public static final class Builder {
        private int maxTokens = 256;
        private float temperature = 0.8f;
        private int topK = 40;
        private float topP = 0.95f;
        private float minP = 0.05f;
        private float repetitionPenalty = 1f;
        private Long seed;
        private List<String> stops = new ArrayList<>();
        private String skipMode = "default";
        private long skipSeed;

        private Builder() {
        }

        /** Tokens to generate at most (the EOS token counts). */
        public Builder maxTokens(int n) {
            maxTokens = n;
            return this;
        }

        /** 0 = greedy. */
        public Builder temperature(double t) {
            temperature = (float) t;
            return this;
        }

        /** Keep the k most likely tokens; 0 = off. */
        public Builder topK(int k) {
            topK = k;
            return this;
        }

        /** Keep the smallest most-likely set whose probability reaches p; 1 = off. */
        public Builder topP(double p) {
            topP = (float) p;
            return this;
        }

        /** Keep tokens at least p times as likely as the most likely one; 0 = off. */
        public Builder minP(double p) {
            minP = (float) p;
            return this;
        }

        /** HF/CTRL repetition penalty on tokens already in prompt or output; 1 = off. */
        public Builder repetitionPenalty(double r) {
            repetitionPenalty = (float) r;
            return this;
        }

        public Builder seed(long s) {
            seed = s;
            return this;
        }

        /** Stop when the generated text contains any of these; the text ends right before it. */
        public Builder stop(String... strings) {
            stops.addAll(List.of(strings));
            return this;
        }

        public Builder stops(List<String> strings) {
            stops = new ArrayList<>(strings);
            return this;
        }

        /** Layer skipping: default, none, flexidepth[:T], random:P, exit:L, forced:P, static:K. */
        public Builder skip(String mode) {
            skipMode = mode;
            return this;
        }

        public Builder skipSeed(long s) {
            skipSeed = s;
            return this;
        }

        /** @throws IllegalArgumentException for a value out of range (negative temperature, top-p outside (0, 1], ...) */
        public GenerationOptions build() {
            return new GenerationOptions(maxTokens, temperature, topK, topP, minP, repetitionPenalty, seed, stops, skipMode, skipSeed);
        }
    }
}
