package org.flexidepth4j.api;

/**
 * The outcome of one generation.
 *
 * @param text       the generated text, ending right before a stop string if one appeared
 * @param ids        the generated ids, the EOS included when generation stopped on one
 * @param layersUsed layers run by the forward pass that produced each generated token
 * @param gates      gates[token][layer] of each generated token (-1 for layers the policy does not route)
 * @param numLayers  the model's layer count
 * @param seed       the sampling seed used (the given one or the fresh one drawn)
 */
public record GenerationResult(String text, int[] ids, int[] layersUsed, float[][] gates, int numLayers, StopReason stopReason,
                               Timings timings, long seed) {
    public double meanLayersUsed() {
        if (layersUsed.length == 0) return 0;
        long sum = 0;
        for (int u : layersUsed) sum += u;
        return (double) sum / layersUsed.length;
    }
}
