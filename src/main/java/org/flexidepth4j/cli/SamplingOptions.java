package org.flexidepth4j.cli;

import org.flexidepth4j.model.Sampler;
import picocli.CommandLine.Option;

/** The sampling options of the commands that generate text (a picocli mixin). */
public final class SamplingOptions {
    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0.8", description = "0 = greedy (default: ${DEFAULT-VALUE})")
    float temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40", description = "0 = off (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95", description = "1 = off (default: ${DEFAULT-VALUE})")
    float topP;

    @Option(names = "--min-p", paramLabel = "P", defaultValue = "0.05", description = "0 = off (default: ${DEFAULT-VALUE})")
    float minP;

    @Option(names = "--repetition-penalty", paramLabel = "R", defaultValue = "1.0", description = "1 = off (default: ${DEFAULT-VALUE})")
    float repetitionPenalty;

    @Option(names = "--seed", paramLabel = "S", description = "random seed (default: a fresh one, reported with --json)")
    Long seed;

    /** The seed to use: --seed, or a fresh one. */
    long seed() {
        return seed != null ? seed : System.nanoTime();
    }

    Sampler sampler(long seed, int vocabSize) {
        return new Sampler(new Sampler.Settings(temperature, topK, topP, minP, repetitionPenalty, seed), vocabSize);
    }
}
