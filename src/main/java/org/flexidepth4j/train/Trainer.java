package org.flexidepth4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
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

    /** Router/adapter width divisors when a fresh plug-in is made (the released defaults). */
    private static final int REDUCTION = FlexiDepth.DEFAULT_REDUCTION_FACTOR;

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

        PlugIn plugIn = cfg.fullWeights() ? null : plugIn(cfg, model);
        TrainableDecoder net = new TrainableDecoder(mc, model.transformer().weights(), name -> cfg.fullWeights(), plugIn, cfg.alpha(), cfg.threshold(), cfg.seqLen());
        AdamW adam = new AdamW(net.trainableParams(), cfg.beta1(), cfg.beta2(), cfg.adamEps(), cfg.weightDecay());

        Path out = cfg.out();
        Checkpoint state = new Checkpoint(0, 0, 0, cfg.seed());
        if (cfg.resume() != null) {
            state = Checkpoint.load(Checkpoint.locate(cfg.resume()), adam);
            if (state.seed() != cfg.seed()) throw new IllegalArgumentException("checkpoint was trained with seed " + state.seed() + ", not " + cfg.seed());
        }
        Path metrics = out.resolve("metrics.jsonl");
        int[] seq = new int[cfg.seqLen()];
        int perStep = cfg.batch() * cfg.accumulation();
        float scale = 1f / perStep;
        int epoch = state.epoch(), position = state.position();
        int[] order = train.order(cfg.seed(), epoch);
        List<Double> losses = new ArrayList<>();
        double lastVal = Double.NaN;
        int routed = plugIn == null ? 0 : plugIn.routedLayers().length;

        try (TrainingLog log = TrainingLog.open(metrics, state.step(), "train", cfg.steps(), cfg.progress())) {
            for (int step = state.step(); step < cfg.steps() && step < stopAfter; step++) {
                long start = System.nanoTime();
                float lr = AdamW.cosineSchedule(step, cfg.steps(), cfg.warmupSteps(), cfg.lr(), cfg.minLrRatio());
                adam.zeroGrad();
                double loss = 0, lm = 0, skip = 0, skipped = 0;
                for (int i = 0; i < perStep; i++) {
                    if (position == order.length) {
                        epoch++;
                        position = 0;
                        order = train.order(cfg.seed(), epoch);
                    }
                    train.sequence(order[position++], seq);
                    loss += net.forward(seq, seq.length) * scale;
                    lm += net.lmLoss() * scale;
                    skip += net.skipLoss() * scale;
                    skipped += (double) net.skippedLayers() / seq.length * scale;
                    net.backward(scale);
                }
                if (!Double.isFinite(loss)) throw new IllegalStateException("loss is " + loss + " at step " + step + " (diverged: lower the learning rate)");
                double gradNorm = adam.clipGradNorm(cfg.clip());
                adam.update(lr);
                double seconds = (System.nanoTime() - start) / 1e9;
                losses.add(loss);

                ObjectNode line = Json.MAPPER.createObjectNode();
                line.put("step", step + 1).put("loss", loss).put("lm_loss", lm).put("skip_loss", skip)
                        .put("layers_skipped", skipped).put("routed_layers", routed).put("grad_norm", gradNorm)
                        .put("lr", lr).put("tokens_per_s", perStep * cfg.seqLen() / seconds).put("epoch", epoch);
                boolean last = step + 1 == cfg.steps();
                if (val != null && ((step + 1) % cfg.evalEvery() == 0 || last)) {
                    double[] v = evaluate(net, val, cfg.evalSequences());
                    lastVal = v[0];
                    line.put("val_lm_loss", v[0]).put("val_layers_skipped", v[1]);
                }
                log.step(line, String.format(" loss %.3f skip %.2f", loss, skipped));
                if ((step + 1) % cfg.checkpointEvery() == 0 || last) {
                    new Checkpoint(step + 1, epoch, position, cfg.seed()).save(out.resolve(Checkpoint.FILE), adam);
                }
            }
        }
        Path output;
        if (plugIn != null) {
            output = out.resolve("flexidepth.safetensors");
            plugIn.save(output, mc);
        } else {
            output = out.resolve("model.safetensors");
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (Param p : adam.params()) {
                if (p.rows() == 1) w.addF32(p.name(), p.value(), p.cols());
                else w.addF32(p.name(), p.value(), p.rows(), p.cols());
            }
            w.metadata("format", "pt").write(output);
        }
        return new Result(losses.size(), losses, lastVal, output);
    }

    private static PlugIn plugIn(TrainConfig cfg, Model model) {
        ModelConfig mc = model.config();
        if (cfg.routedLayers() != null) return PlugIn.init(mc, TrainConfig.parseLayers(cfg.routedLayers()), REDUCTION, REDUCTION, cfg.seed());
        if (model.defaultPolicy() instanceof FlexiDepth fd) return PlugIn.from(fd);
        throw new IllegalArgumentException(model.source() + " has no FlexiDepth plug-in to continue: give the layers to route (e.g. --routed-layers 6-11)");
    }

    /** Mean next-token loss and mean routed layers skipped per token over the first {@code max} held-out sequences. */
    static double[] evaluate(TrainableDecoder net, TextData val, int max) {
        int n = Math.min(max, val.sequences());
        int[] seq = new int[val.seqLen()];
        double loss = 0, skipped = 0;
        for (int i = 0; i < n; i++) {
            val.sequence(i, seq);
            net.forward(seq, seq.length);
            loss += net.lmLoss();
            skipped += (double) net.skippedLayers() / seq.length;
        }
        return new double[] {loss / n, skipped / n};
    }
}
