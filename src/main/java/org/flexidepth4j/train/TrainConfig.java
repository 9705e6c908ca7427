package org.flexidepth4j.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything a training run needs. {@code routedLayers} ("6-11", "3,4,5") gets a fresh random plug-in; null
 * continues the plug-in found in the model directory. {@code fullWeights} trains every base weight instead (dense,
 * no plug-in). Each optimizer step sees {@code batch × accumulation} sequences of {@code seqLen} tokens (sequences
 * run one after another, so the two only differ in name). {@code warmup} < 0 means 3% of the steps.
 */
public record TrainConfig(Path model, List<Path> data, Path val, String routedLayers, boolean fullWeights,
                          float alpha, float threshold, int steps, int seqLen, int batch, int accumulation,
                          float lr, float minLrRatio, int warmup, float clip, float weightDecay, float beta1,
                          float beta2, float adamEps, Path out, Path resume, long seed, int threads,
                          int checkpointEvery, int evalEvery, int evalSequences, boolean progress) {
    public TrainConfig {
        if (model == null) throw new IllegalArgumentException("no model given");
        if (data == null || data.isEmpty()) throw new IllegalArgumentException("no data files given");
        if (out == null) throw new IllegalArgumentException("no output directory given");
        data = List.copyOf(data);
        if (steps < 1) throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        if (seqLen < 2) throw new IllegalArgumentException("seq-len must be >= 2, got " + seqLen);
        if (batch < 1 || accumulation < 1) throw new IllegalArgumentException("batch and accumulation must be >= 1");
        if (!(lr > 0) || !Float.isFinite(lr)) throw new IllegalArgumentException("lr must be a positive number, got " + lr);
        if (!(alpha >= 0)) throw new IllegalArgumentException("alpha must be >= 0, got " + alpha);
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (checkpointEvery < 1) throw new IllegalArgumentException("checkpoint-every must be >= 1, got " + checkpointEvery);
        if (fullWeights && routedLayers != null) throw new IllegalArgumentException("full-weight training has no routed layers");
    }

    public static Builder builder(Path model, List<Path> data, Path out) {
        return new Builder(model, data, out);
    }

    public int warmupSteps() {
        return warmup >= 0 ? warmup : (int) Math.ceil(0.03 * steps);
    }

    /** "6-11", "3,4,5" or "2,6-8" as layer indices. */
    public static int[] parseLayers(String spec) {
        List<Integer> out = new ArrayList<>();
        for (String part : spec.split(",")) {
            String p = part.trim();
            try {
                int dash = p.indexOf('-');
                int from = Integer.parseInt(dash < 0 ? p : p.substring(0, dash).trim());
                int to = dash < 0 ? from : Integer.parseInt(p.substring(dash + 1).trim());
                if (from > to) throw new IllegalArgumentException("layer range '" + p + "' is empty");
                for (int l = from; l <= to; l++) if (!out.contains(l)) out.add(l);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("cannot read layers '" + spec + "' (expected e.g. 6-11 or 3,4,5)");
            }
        }
        return out.stream().mapToInt(Integer::intValue).sorted().toArray();
    }

    /** Defaults of the official FlexiDepth recipe, scaled to small models (METHODS.md section 1). */
    public static final class Builder {
        private final Path model, out;
        private final List<Path> data;
        private Path val, resume;
        private String routedLayers;
        private boolean fullWeights, progress = true;
        private float alpha = 1e-3f, threshold = 0.5f, lr = 1e-4f, minLrRatio = 0f, clip = 1f, weightDecay = 0f;
        private float beta1 = 0.9f, beta2 = 0.95f, adamEps = 1e-8f;
        private int steps = 1000, seqLen = 256, batch = 1, accumulation = 1, warmup = -1;
        private int checkpointEvery = 100, evalEvery = 100, evalSequences = 16;
        private long seed = 1;
        private int threads = Runtime.getRuntime().availableProcessors();

        private Builder(Path model, List<Path> data, Path out) {
            this.model = model;
            this.data = data;
            this.out = out;
        }

        public Builder val(Path v) { val = v; return this; }
        public Builder resume(Path v) { resume = v; return this; }
        public Builder routedLayers(String v) { routedLayers = v; return this; }
        public Builder fullWeights(boolean v) { fullWeights = v; return this; }
        public Builder progress(boolean v) { progress = v; return this; }
        public Builder alpha(float v) { alpha = v; return this; }
        public Builder threshold(float v) { threshold = v; return this; }
        public Builder lr(float v) { lr = v; return this; }
        public Builder minLrRatio(float v) { minLrRatio = v; return this; }
        public Builder clip(float v) { clip = v; return this; }
        public Builder weightDecay(float v) { weightDecay = v; return this; }
        public Builder adamEps(float v) { adamEps = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder seqLen(int v) { seqLen = v; return this; }
        public Builder batch(int v) { batch = v; return this; }
        public Builder accumulation(int v) { accumulation = v; return this; }
        public Builder warmup(int v) { warmup = v; return this; }
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }
        public Builder evalEvery(int v) { evalEvery = v; return this; }
        public Builder evalSequences(int v) { evalSequences = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder threads(int v) { threads = v; return this; }

        public TrainConfig build() {
            return new TrainConfig(model, data, val, routedLayers, fullWeights, alpha, threshold, steps, seqLen, batch,
                    accumulation, lr, minLrRatio, warmup, clip, weightDecay, beta1, beta2, adamEps, out, resume, seed,
                    threads, checkpointEvery, evalEvery, evalSequences, progress);
        }
    }
}
