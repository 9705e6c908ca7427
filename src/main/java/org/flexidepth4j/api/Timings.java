package org.flexidepth4j.api;

/**
 * Where the time of one generation went.
 *
 * @param promptTokens tokens run in the prefill
 * @param prefillNanos time of the prompt's forward pass
 * @param decodeSteps  single-token forward passes after the prefill
 * @param decodeNanos  time from the end of the prefill to the last token
 */
public record Timings(int promptTokens, long prefillNanos, int decodeSteps, long decodeNanos) {
    public double prefillTokensPerSecond() {
        return promptTokens / Math.max(1e-9, prefillNanos * 1e-9);
    }

    public double decodeTokensPerSecond() {
        return decodeSteps == 0 ? 0 : decodeSteps / Math.max(1e-9, decodeNanos * 1e-9);
    }

    public double totalSeconds() {
        return (prefillNanos + decodeNanos) * 1e-9;
    }
}
