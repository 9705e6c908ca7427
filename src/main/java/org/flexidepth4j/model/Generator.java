package org.flexidepth4j.model;

import java.util.Arrays;

/**
 * Autoregressive generation: prefill the prompt, then sample and feed one token at a time until an EOS id, the
 * listener says stop, {@code maxTokens} tokens, or the end of the context. Each generated token is traced with
 * the layers used and the gates of the forward pass that produced it (the last row of the prefill for the first
 * token, then the decode step of the previous token).
 */
public final class Generator {
    /** Called after each generated token; returning false stops generation (e.g. on a stop string). */
    public interface Listener {
        boolean onToken(int id, int layersUsed);
    }

    public enum Stop { EOS, LISTENER, MAX_TOKENS, CONTEXT }

    /**
     * @param ids        generated ids, the EOS included when generation stopped on one
     * @param layersUsed layers run for each generated token
     * @param gates      gates[token][layer] of each generated token (-1 for layers not routed)
     */
    public record Result(int[] ids, int promptTokens, long prefillNanos, long decodeNanos, int decodeSteps,
                         int[] layersUsed, float[][] gates, Stop stop) {
        public double prefillTokensPerSecond() {
            return promptTokens / Math.max(1e-9, prefillNanos * 1e-9);
        }

        public double decodeTokensPerSecond() {
            return decodeSteps == 0 ? 0 : decodeSteps / Math.max(1e-9, decodeNanos * 1e-9);
        }

        public double meanLayersUsed() {
            if (layersUsed.length == 0) return 0;
            long sum = 0;
            for (int u : layersUsed) sum += u;
            return (double) sum / layersUsed.length;
        }
    }

    private Generator() {
    }

    public static Result generate(Transformer transformer, SkipPolicy policy, int[] prompt, int maxTokens, int contextLength,
                                  Sampler sampler, int[] eosIds, Listener listener) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt has no tokens");
        if (prompt.length > contextLength) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens, more than the context length of " + contextLength);
        }
        if (maxTokens < 0) throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        ModelConfig config = transformer.config();
        int layers = config.numLayers();
        // the context bounds what can be generated (the last token needs no forward), so arrays are sized by it
        int capacity = (int) Math.min(maxTokens, (long) contextLength - prompt.length + 1);
        InferenceState state = transformer.newState(Math.min(contextLength, prompt.length + Math.max(0, capacity - 1)));
        int[] sequence = new int[prompt.length + capacity];
        System.arraycopy(prompt, 0, sequence, 0, prompt.length);
        int[] layersUsed = new int[capacity];
        float[][] gates = new float[capacity][];

        long start = System.nanoTime();
        if (maxTokens > 0) transformer.forward(state, prompt, 0, prompt.length, policy, false);
        long prefillNanos = System.nanoTime() - start;
        int lastRow = prompt.length - 1;
        long decodeStart = System.nanoTime();
        int generated = 0, steps = 0;
        Stop stop = Stop.MAX_TOKENS;
        while (generated < maxTokens) {
            int id = sampler.sample(state.logits(), 0, sequence, prompt.length + generated);
            layersUsed[generated] = state.layersUsed(lastRow);
            float[] g = new float[layers];
            for (int l = 0; l < layers; l++) g[l] = state.gate(l, lastRow);
            gates[generated] = g;
            sequence[prompt.length + generated++] = id;
            if (contains(eosIds, id)) {
                stop = Stop.EOS;
                break;
            }
            if (!listener.onToken(id, layersUsed[generated - 1])) {
                stop = Stop.LISTENER;
                break;
            }
            if (generated == maxTokens) break;
            if (state.length() >= state.contextLength()) {
                stop = Stop.CONTEXT;
                break;
            }
            transformer.forward(state, sequence, prompt.length + generated - 1, 1, policy, false);
            lastRow = 0;
            steps++;
        }
        long decodeNanos = System.nanoTime() - decodeStart;
        int[] ids = Arrays.copyOfRange(sequence, prompt.length, prompt.length + generated);
        return new Result(ids, prompt.length, prefillNanos, decodeNanos, steps,
                Arrays.copyOf(layersUsed, generated), Arrays.copyOf(gates, generated), stop);
    }

    private static boolean contains(int[] ids, int id) {
        for (int x : ids) if (x == id) return true;
        return false;
    }
}
