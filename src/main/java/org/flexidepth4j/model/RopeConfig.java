package org.flexidepth4j.model;

/**
 * Rotary position embedding settings. {@code interleaved}: rotate pairs (2i, 2i+1) as llama2.c and GGUF llama
 * weights require; otherwise HF's rotate-half pairs (i, i + headDim/2). {@code type} is "default", "linear" or
 * "llama3"; the remaining fields only matter for the scaled types.
 */
public record RopeConfig(double theta, String type, double factor, double lowFreqFactor, double highFreqFactor,
                         int originalMaxPositions, boolean interleaved) {
    public static RopeConfig plain(double theta, boolean interleaved) {
        return new RopeConfig(theta, "default", 1, 1, 4, 8192, interleaved);
    }

    /** Inverse frequencies per rotated pair, computed in double and with the scaling of {@link #type} applied. */
    public double[] inverseFrequencies(int headDim) {
        int half = headDim / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
        switch (type) {
            case "default" -> { }
            case "linear" -> { for (int i = 0; i < half; i++) inv[i] /= factor; }
            case "llama3" -> {
                double lowWavelen = originalMaxPositions / lowFreqFactor;
                double highWavelen = originalMaxPositions / highFreqFactor;
                for (int i = 0; i < half; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen > lowWavelen) {
                        inv[i] = inv[i] / factor;
                    } else if (wavelen >= highWavelen) {
                        double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                        inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
                    }
                }
            }
            default -> throw new IllegalArgumentException("unsupported rope type '" + type + "'");
        }
        return inv;
    }
}
