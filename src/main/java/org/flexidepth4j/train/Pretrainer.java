package org.flexidepth4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.flexidepth4j.io.AtomicFiles;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.OutputDirectory;
import org.flexidepth4j.io.SafeTensorsWriter;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.skip.BinaryRouterConfig;
import org.flexidepth4j.tensor.Parallel;
import org.flexidepth4j.tokenizer.Tokenizer;
import org.flexidepth4j.tokenizer.Tokenizers;

/**
 * Pretraining from scratch with Learning-to-Skip routers (or dense): every weight trainable, AdamW with warmup +
 * cosine decay, no weight decay on norms and routers, routers at lr × router_lr_multiplier, the gradient norms of
 * the base and of the routers clipped separately (a spike of the unbounded straight-through router gradient must not
 * shrink the language model's step), Gumbel noise annealed to zero over the configured fraction of the steps, the
 * density target moved from its start value to P over its own fraction.
 *
 * <p>A run works in {@code out.partial} beside {@code out}: {@code metrics.jsonl} (a line per step) and
 * {@code checkpoint.safetensors} (both optimizers, step, data position; every checkpoint_every steps and at the end,
 * written atomically), from which a killed run continues exactly. At the end the HF model (config.json with
 * "skip_router", model.safetensors in float32, the tokenizer files) is written there and the directory is renamed to
 * {@code out}, so {@code out} is either absent, the old one, or complete.
 */
public final class Pretrainer {
    /** Losses of the steps this call ran, last held-out NLL (inference routing, no noise), its executed fraction. */
    public record Result(List<Double> losses, double valLoss, double valExecuted, Path out) {
    }

    private static final String METRICS = "metrics.jsonl";

    private Pretrainer() {
    }

    /** The directory a run writes to until it finishes: {@link OutputDirectory#partialOf}. */
    public static Path inProgress(Path out) {
        return OutputDirectory.partialOf(out);
    }

    /**
     * @param resume   null for a fresh run, else a checkpoint file, a directory holding one, or the {@code out} of a
     *                 killed run (whose {@code out.partial} holds it)
     * @param progress progress bar on stderr
     */
    public static Result run(PretrainConfig cfg, Path resume, boolean progress) {
        if (cfg.tokenizer() == null) throw new IllegalArgumentException("no tokenizer given (e.g. \"tokenizer\": \"../shared/models/tinylm-12l\")");
        Tokenizer tokenizer = Tokenizers.fromHfDirectory(cfg.tokenizer());
        if (tokenizer == null) throw new FormatException(cfg.tokenizer(), "no tokenizer.json that this build can load");
        return run(cfg, tokenizer, resume, progress, Integer.MAX_VALUE);
    }

    /** A fresh run with a tokenizer object (tests, benchmarks); its files are copied only when cfg.tokenizer() names a directory. */
    public static Result run(PretrainConfig cfg, Tokenizer tokenizer) {
        return run(cfg, tokenizer, null, false, Integer.MAX_VALUE);
    }

    /** {@code stopAfter}: leave after this step as if killed (tests of resume): no model is written, out.partial stays. */
    static Result run(PretrainConfig cfg, Tokenizer tokenizer, Path resume, boolean progress, int stopAfter) {
        if (cfg.out() == null) throw new IllegalArgumentException("no output directory given");
        if (cfg.data().isEmpty()) throw new IllegalArgumentException("no data files given");
        Parallel.setThreads(cfg.threads());
        int vocab = cfg.vocabSize() > 0 ? cfg.vocabSize() : tokenizer.vocabSize();
        ModelConfig mc = cfg.modelConfig(vocab);
        TextData train = TextData.load(cfg.data(), tokenizer, cfg.seqLen(), vocab), val = null;
        if (cfg.valSequences() > 0) {
            if (train.sequences() <= cfg.valSequences()) throw new IllegalArgumentException("data holds " + train.sequences() + " sequences, too few to hold out " + cfg.valSequences());
            TextData[] parts = train.split(cfg.valSequences());
            train = parts[0];
            val = parts[1];
        }

        ModelWeights init = ScratchModel.init(mc, cfg.seed(), cfg.initStd());
        LearningToSkip routers = cfg.router() == null ? null : LearningToSkip.init(mc, cfg.router(), cfg.seqLen());
        TrainableDecoder net = TrainableDecoder.builder(mc, init, cfg.seqLen()).trainAllBase().skip(routers == null ? TrainableSkip.NONE : routers).build();
        List<Param> base = new ArrayList<>(net.trainableParams());
        List<StepLoop.Group> groups = new ArrayList<>();
        if (routers != null) base.removeAll(routers.params());
        groups.add(new StepLoop.Group(new AdamW(base, cfg.beta1(), cfg.beta2(), cfg.adamEps(), cfg.weightDecay()), 1f, "grad_norm"));
        if (routers != null) {
            AdamW routerOpt = new AdamW(routers.params(), cfg.beta1(), cfg.beta2(), cfg.adamEps(), 0f);
            groups.add(new StepLoop.Group(routerOpt, (float) cfg.router().routerLrMultiplier(), "router_grad_norm"));
        }
        AdamW[] optimizers = groups.stream().map(StepLoop.Group::optimizer).toArray(AdamW[]::new);

        Path out = cfg.out().toAbsolutePath(), work = inProgress(out);
        Checkpoint state = new Checkpoint(0, 0, 0, cfg.seed());
        try {
            Path from = resume == null ? null : checkpointToResume(resume.toAbsolutePath());
            if (from != null) {
                state = Checkpoint.load(from, optimizers);
                if (state.seed() != cfg.seed()) throw new FormatException(from, "was trained with seed " + state.seed() + ", this run has seed " + cfg.seed());
            }
            // continuing in out.partial keeps its files; anything else starts it afresh (with the checkpoint's metrics)
            if (from == null || !Files.isDirectory(work) || !Files.isSameFile(from.getParent(), work)) {
                if (Files.exists(work)) AtomicFiles.deleteTree(work);
                Files.createDirectories(work);
                if (from != null && Files.isRegularFile(from.resolveSibling(METRICS))) Files.copy(from.resolveSibling(METRICS), work.resolve(METRICS));
            }
        } catch (IOException e) {
            throw new FormatException(work, "cannot prepare the run directory: " + e.getMessage());
        }
        try {
            return train(cfg, mc, train, val, net, routers, groups, state, progress, stopAfter, work, out);
        } catch (RuntimeException e) {
            if (!Files.exists(work.resolve(Checkpoint.FILE))) { // nothing to resume from
                try {
                    AtomicFiles.deleteTree(work);
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
    }

    /** A checkpoint file, a directory holding one, or an output directory whose in-progress sibling holds one. */
    private static Path checkpointToResume(Path resume) {
        Path partial = inProgress(resume).resolve(Checkpoint.FILE);
        return Files.isRegularFile(partial) ? partial : Checkpoint.locate(resume);
    }

    private static Result train(PretrainConfig cfg, ModelConfig mc, TextData train, TextData val, TrainableDecoder net,
                                LearningToSkip routers, List<StepLoop.Group> groups, Checkpoint state, boolean progress, int stopAfter,
                                Path work, Path out) {
        StepLoop.Schedule schedule = new StepLoop.Schedule(cfg.steps(), cfg.batch(), cfg.warmupSteps(), cfg.lr(), cfg.minLrRatio(),
                cfg.clip(), cfg.checkpointEvery(), cfg.evalEvery(), cfg.seed());
        SkipRecipe recipe = new SkipRecipe(cfg, net, routers, val);
        StepLoop.Outcome done;
        try (TrainingLog log = TrainingLog.open(work.resolve(METRICS), state.step(), "pretrain", cfg.steps(), progress)) {
            done = StepLoop.run(net, train, schedule, groups, recipe, state, log, work.resolve(Checkpoint.FILE), stopAfter);
        }
        ObjectNode v = done.evaluation();
        Path result = work;
        if (state.step() + done.losses().size() == cfg.steps()) {
            if (v.isEmpty()) recipe.evaluate(v); // resumed at the end: the last evaluation ran before the kill
            writeModel(work, mc, net, routers, cfg);
            OutputDirectory.moveIntoPlace(work, out);
            result = out;
        }
        return new Result(done.losses(), v.path("val_lm_loss").asDouble(Double.NaN), v.path("val_executed").asDouble(Double.NaN), result);
    }

    /**
     * What pretraining logs: the density regulariser, the executed fraction, the noise and density target of the
     * schedule (set before each step), and the held-out NLL routed as at inference (no noise).
     */
    private record SkipRecipe(PretrainConfig cfg, TrainableDecoder net, LearningToSkip routers, TextData val) implements StepLoop.Recipe {
        @Override
        public void beforeStep(int step, ObjectNode line) {
            double noise = routers == null ? 0 : cfg.router().noiseAt(step, cfg.steps());
            double target = routers == null ? 1 : cfg.router().targetAt(step, cfg.steps());
            if (routers != null) {
                routers.setNoise(noise, cfg.seed() * 1_000_003L + step);
                routers.setTarget(target);
            }
            line.put("target_density", target).put("noise", noise);
        }

        @Override
        public List<String> metrics() {
            return List.of("density_reg", "executed");
        }

        @Override
        public double[] measure() {
            return new double[] {net.loss() - net.lmLoss(), executed()};
        }

        private double executed() {
            return routers == null ? 1 : routers.meanExecutedFraction();
        }

        /** Mean next-token NLL and executed fraction over the held-out sequences, routed as at inference (no noise). */
        @Override
        public void evaluate(ObjectNode line) {
            if (val == null) return;
            int[] seq = new int[val.seqLen()];
            double nll = 0, executed = 0;
            for (int i = 0; i < val.sequences(); i++) {
                if (routers != null) routers.setNoise(0, 0);
                val.sequence(i, seq);
                net.forward(seq, seq.length);
                nll += net.lmLoss();
                executed += executed();
            }
            line.put("val_lm_loss", nll / val.sequences()).put("val_executed", executed / val.sequences());
        }

        @Override
        public String progress(double loss, double[] metrics) {
            return String.format(" loss %.3f executed %.2f", loss, metrics[1]);
        }
    }

    private static void writeModel(Path dir, ModelConfig mc, TrainableDecoder net, LearningToSkip routers, PretrainConfig cfg) {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
        for (Param p : net.allParams()) {
            if (p.rows() == 1) w.addF32(p.name(), p.value(), p.cols());
            else w.addF32(p.name(), p.value(), p.rows(), p.cols());
        }
        w.write(dir.resolve("model.safetensors"));
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama").put("hidden_size", mc.hiddenSize()).put("intermediate_size", mc.intermediateSize())
                .put("num_hidden_layers", mc.numLayers()).put("num_attention_heads", mc.numHeads())
                .put("num_key_value_heads", mc.numKvHeads()).put("head_dim", mc.headDim()).put("vocab_size", mc.vocabSize())
                .put("max_position_embeddings", mc.maxPositions()).put("rms_norm_eps", mc.rmsNormEps())
                .put("rope_theta", cfg.ropeTheta()).put("tie_word_embeddings", mc.tiedEmbeddings()).put("hidden_act", "silu")
                .put("torch_dtype", "float32");
        if (routers != null) c.set(BinaryRouterConfig.KEY, routers.settings().toJson());
        try {
            AtomicFiles.writeString(dir.resolve("config.json"), c.toPrettyString());
            Path tok = cfg.tokenizer();
            if (tok != null && Files.isDirectory(tok)) {
                for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
                    if (Files.exists(tok.resolve(f))) Files.copy(tok.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new FormatException(dir, "cannot write: " + e.getMessage());
        }
    }
}
