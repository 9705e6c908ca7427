package org.flexidepth4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.SafeTensorsWriter;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.skip.FlexiDepth;
import org.flexidepth4j.tensor.Parallel;
import org.flexidepth4j.tokenizer.Tokenizer;

/**
 * The training loop: FlexiDepth plug-in training on a frozen model (or full-weight training of a dense one) with
 * AdamW, warmup + cosine learning rate, grad-norm clipping and gradient accumulation. Writes, under {@code out}:
 * {@code metrics.jsonl} (one line per step), {@code checkpoint.safetensors} every {@code checkpointEvery} steps and
 * at the end, and the result: {@code flexidepth.safetensors} (plug-in in the released naming) or, for full-weight
 * training, {@code model.safetensors} (every trained tensor, float32, HF naming). Deterministic for a given seed and
 * thread count; {@code resume} continues a killed run exactly.
 */
public final class Trainer {
    /** Rough numbers of a finished run. */
    public record Result(int steps, List<Double> losses, double lastValLoss, Path output) {
    }

    private Trainer() {
    }

    public static Result run(TrainConfig cfg) {
        // fail fast on a mistyped data path, before the model is loaded
        for (Path f : cfg.data()) if (!Files.isRegularFile(f)) throw new FormatException(f, "data file not found");
        if (cfg.val() != null && !Files.isRegularFile(cfg.val())) throw new FormatException(cfg.val(), "validation file not found");
        Model model = ModelLoader.load(cfg.model());
        return run(cfg, model, model.requireTokenizer(), Integer.MAX_VALUE);
    }

    /** {@code stopAfter}: leave the loop after this step as if killed (tests of resume). */
    static Result run(TrainConfig cfg, Model model, Tokenizer tokenizer, int stopAfter) {
        ModelConfig mc = model.config();
        if (cfg.seqLen() > mc.maxPositions()) throw new IllegalArgumentException("seq-len " + cfg.seqLen() + " exceeds the model's context of " + mc.maxPositions());
        Parallel.setThreads(cfg.threads());

        TextData train = TextData.load(cfg.data(), tokenizer, cfg.seqLen(), mc.vocabSize());
        TextData val = null;
        if (cfg.val() != null) {
            val = TextData.load(List.of(cfg.val()), tokenizer, cfg.seqLen(), mc.vocabSize());
        } else if (train.sequences() >= 20) {
            TextData[] parts = train.split(Math.max(1, train.sequences() / 20));
            train = parts[0];
            val = parts[1];
        }
        if (train.skippedFiles() > 0) System.err.println("skipped " + train.skippedFiles() + " empty data file(s)");

        PlugIn plugIn = (cfg.fullWeights() ? PlugIn.none(mc) : plugIn(cfg, model)).withSkipLoss(cfg.alpha()).withThreshold(cfg.threshold());
        TrainableDecoder net = TrainableDecoder.builder(mc, model.transformer().weights(), cfg.seqLen())
                .trainBase(name -> cfg.fullWeights()).skip(plugIn).build();
        AdamW adam = new AdamW(net.trainableParams(), cfg.beta1(), cfg.beta2(), cfg.adamEps(), cfg.weightDecay());

        Path out = cfg.out();
        Checkpoint state = new Checkpoint(0, 0, 0, cfg.seed());
        if (cfg.resume() != null) {
            state = Checkpoint.load(Checkpoint.locate(cfg.resume()), adam);
            if (state.seed() != cfg.seed()) throw new IllegalArgumentException("checkpoint was trained with seed " + state.seed() + ", not " + cfg.seed());
        }
        StepLoop.Schedule schedule = new StepLoop.Schedule(cfg.steps(), cfg.batch() * cfg.accumulation(), cfg.warmupSteps(), cfg.lr(),
                cfg.minLrRatio(), cfg.clip(), cfg.checkpointEvery(), cfg.evalEvery(), cfg.seed());
        FlexiDepthRecipe recipe = new FlexiDepthRecipe(net, plugIn, val, cfg.evalSequences());
        StepLoop.Outcome done;
        try (TrainingLog log = TrainingLog.open(out.resolve("metrics.jsonl"), state.step(), "train", cfg.steps(), cfg.progress())) {
            done = StepLoop.run(net, train, schedule, List.of(new StepLoop.Group(adam, 1f, "grad_norm")), recipe, state, log,
                    out.resolve(Checkpoint.FILE), stopAfter);
        }
        Path output;
        if (!cfg.fullWeights()) {
            output = out.resolve("flexidepth.safetensors");
            plugIn.save(output);
        } else {
            output = out.resolve("model.safetensors");
            SafeTensorsWriter w = new SafeTensorsWriter();
            // Gemma's norms multiply by 1 + w, and HF files store w: the loader's 1 comes off again
            boolean unitOffsetNorms = mc.unitOffsetNorms();
            for (Param p : adam.params()) {
                float[] v = p.value();
                if (unitOffsetNorms && p.name().endsWith("norm.weight")) {
                    v = v.clone();
                    for (int i = 0; i < v.length; i++) v[i] -= 1f;
                }
                if (p.rows() == 1) w.addF32(p.name(), v, p.cols());
                else w.addF32(p.name(), v, p.rows(), p.cols());
            }
            w.metadata("format", "pt").write(output);
        }
        return new Result(done.losses().size(), done.losses(), done.evaluation().path("val_lm_loss").asDouble(Double.NaN), output);
    }

    /** What plug-in training logs: the skip loss, routed layers skipped per token, and the held-out loss. */
    private record FlexiDepthRecipe(TrainableDecoder net, PlugIn plugIn, TextData val, int evalSequences) implements StepLoop.Recipe {
        @Override
        public void beforeStep(int step, ObjectNode line) {
            line.put("routed_layers", plugIn.routedLayers().length);
        }

        @Override
        public List<String> metrics() {
            return List.of("skip_loss", "layers_skipped");
        }

        @Override
        public double[] measure() {
            return new double[] {plugIn.skipLoss(), (double) plugIn.skippedLayers() / net.length()};
        }

        /** Mean next-token loss and mean routed layers skipped per token over the first evalSequences held-out sequences. */
        @Override
        public void evaluate(ObjectNode line) {
            if (val == null) return;
            int n = Math.min(evalSequences, val.sequences());
            int[] seq = new int[val.seqLen()];
            double loss = 0, skipped = 0;
            for (int i = 0; i < n; i++) {
                val.sequence(i, seq);
                net.forward(seq, seq.length);
                loss += net.lmLoss();
                skipped += (double) plugIn.skippedLayers() / seq.length;
            }
            line.put("val_lm_loss", loss / n).put("val_layers_skipped", skipped / n);
        }

        @Override
        public String progress(double loss, double[] metrics) {
            return String.format(" loss %.3f skip %.2f", loss, metrics[1]);
        }
    }

    private static PlugIn plugIn(TrainConfig cfg, Model model) {
        ModelConfig mc = model.config();
        if (cfg.routedLayers() != null) return PlugIn.init(mc, TrainConfig.parseLayers(cfg.routedLayers()), cfg.seed());
        if (model.defaultPolicy() instanceof FlexiDepth fd) return PlugIn.from(fd);
        throw new IllegalArgumentException(model.source() + " has no FlexiDepth plug-in to continue: give the layers to route (e.g. --routed-layers 6-11)");
    }
}
