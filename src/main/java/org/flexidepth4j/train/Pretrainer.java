package org.flexidepth4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.SafeTensorsWriter;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.skip.BinaryRouterConfig;
import org.flexidepth4j.tensor.Parallel;
import org.flexidepth4j.tokenizer.Tokenizer;
import org.flexidepth4j.tokenizer.Tokenizers;

/**
 * Pretraining from scratch with Learning-to-Skip routers (or dense): every weight trainable, AdamW with warmup +
 * cosine decay, no weight decay on norms and routers, routers at lr × router_lr_multiplier, joint grad-norm clipping,
 * Gumbel noise annealed to zero over the configured fraction of the steps. The result is an HF directory
 * (config.json with "skip_router", model.safetensors in float32, the tokenizer files, metrics.jsonl) written to a
 * temp directory beside {@code out} and renamed into place, so {@code out} is either absent, the old one, or complete.
 */
public final class Pretrainer {
    /** A finished run: loss per step, last held-out NLL (inference routing, no noise), its executed fraction. */
    public record Result(List<Double> losses, double valLoss, double valExecuted, Path out) {
    }

    private Pretrainer() {
    }

    public static Result run(PretrainConfig cfg) {
        if (cfg.tokenizer() == null) throw new IllegalArgumentException("no tokenizer given (e.g. \"tokenizer\": \"../shared/models/tinylm-12l\")");
        Tokenizer tokenizer = Tokenizers.fromHfDirectory(cfg.tokenizer());
        if (tokenizer == null) throw new FormatException(cfg.tokenizer(), "no tokenizer.json that this build can load");
        return run(cfg, tokenizer);
    }

    /** With a tokenizer object (tests); its files are copied only when cfg.tokenizer() names a directory. */
    public static Result run(PretrainConfig cfg, Tokenizer tokenizer) {
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
        TrainableSkipRouters routers = cfg.router() == null ? null : TrainableSkipRouters.init(mc, cfg.router(), cfg.seqLen());
        TrainableDecoder net = new TrainableDecoder(mc, init, name -> true, null, 0f, 0.5f, cfg.seqLen(), routers);
        List<Param> base = new ArrayList<>(net.trainableParams());
        List<Param> routerParams = routers == null ? List.of() : routers.params();
        base.removeAll(routerParams);
        AdamW baseOpt = new AdamW(base, cfg.beta1(), cfg.beta2(), cfg.adamEps(), cfg.weightDecay());
        AdamW routerOpt = routers == null ? null : new AdamW(routerParams, cfg.beta1(), cfg.beta2(), cfg.adamEps(), 0f);

        Path out = cfg.out().toAbsolutePath();
        Path tmp = temporaryBeside(out);
        try {
            return train(cfg, mc, train, val, net, routers, baseOpt, routerOpt, tmp, out);
        } catch (RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
    }

    private static Result train(PretrainConfig cfg, ModelConfig mc, TextData train, TextData val, TrainableDecoder net,
                                TrainableSkipRouters routers, AdamW baseOpt, AdamW routerOpt, Path tmp, Path out) {
        float routerLr = routers == null ? 0f : (float) cfg.router().routerLrMultiplier();
        int[] seq = new int[cfg.seqLen()];
        int[] order = train.order(cfg.seed(), 0);
        int epoch = 0, position = 0;
        float scale = 1f / cfg.batch();
        List<Double> losses = new ArrayList<>();
        double valLoss = Double.NaN, valExecuted = Double.NaN;
        try (Writer log = Files.newBufferedWriter(tmp.resolve("metrics.jsonl"), StandardCharsets.UTF_8)) {
            for (int step = 0; step < cfg.steps(); step++) {
                long start = System.nanoTime();
                float lr = AdamW.cosineSchedule(step, cfg.steps(), cfg.warmupSteps(), cfg.lr(), cfg.minLrRatio());
                double noise = routers == null ? 0 : cfg.router().noiseAt(step, cfg.steps());
                if (routers != null) routers.setNoise(noise, cfg.seed() * 1_000_003L + step);
                baseOpt.zeroGrad();
                if (routerOpt != null) routerOpt.zeroGrad();
                double loss = 0, lm = 0, executed = 0;
                for (int i = 0; i < cfg.batch(); i++) {
                    if (position == order.length) {
                        order = train.order(cfg.seed(), ++epoch);
                        position = 0;
                    }
                    train.sequence(order[position++], seq);
                    loss += net.forward(seq, seq.length) * scale;
                    lm += net.lmLoss() * scale;
                    executed += (routers == null ? 1 : routers.meanExecutedFraction()) * scale;
                    net.backward(scale);
                }
                if (!Double.isFinite(loss)) throw new IllegalStateException("loss is " + loss + " at step " + step + " (diverged: lower the learning rate)");
                double gradNorm = clipJointly(cfg.clip(), baseOpt, routerOpt);
                baseOpt.update(lr);
                if (routerOpt != null) routerOpt.update(lr * routerLr);
                losses.add(loss);

                ObjectNode line = Json.MAPPER.createObjectNode();
                line.put("step", step + 1).put("loss", loss).put("lm_loss", lm).put("density_reg", loss - lm)
                        .put("executed", executed).put("noise", noise).put("lr", lr).put("grad_norm", gradNorm)
                        .put("tokens_per_s", cfg.batch() * cfg.seqLen() / ((System.nanoTime() - start) / 1e9));
                if (val != null && ((step + 1) % cfg.evalEvery() == 0 || step + 1 == cfg.steps())) {
                    double[] v = evaluate(net, routers, val);
                    valLoss = v[0];
                    valExecuted = v[1];
                    line.put("val_lm_loss", valLoss).put("val_executed", valExecuted);
                }
                log.write(line.toString());
                log.write('\n');
                log.flush();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        writeModel(tmp, mc, net, routers, cfg);
        replace(tmp, out);
        return new Result(losses, valLoss, valExecuted, out);
    }

    /** Mean next-token NLL and executed fraction over the held-out sequences, routed as at inference (no noise). */
    static double[] evaluate(TrainableDecoder net, TrainableSkipRouters routers, TextData val) {
        int[] seq = new int[val.seqLen()];
        double nll = 0, executed = 0;
        for (int i = 0; i < val.sequences(); i++) {
            if (routers != null) routers.setNoise(0, 0);
            val.sequence(i, seq);
            net.forward(seq, seq.length);
            nll += net.lmLoss();
            executed += routers == null ? 1 : routers.meanExecutedFraction();
        }
        return new double[] {nll / val.sequences(), executed / val.sequences()};
    }

    /** Scales every gradient of both optimisers so their joint L2 norm is at most {@code max}; returns the norm before. */
    private static double clipJointly(float max, AdamW a, AdamW b) {
        double na = a.gradNorm(), nb = b == null ? 0 : b.gradNorm();
        double norm = Math.sqrt(na * na + nb * nb);
        if (max > 0 && norm > max) {
            float s = (float) (max / (norm + 1e-6));
            for (AdamW opt : b == null ? List.of(a) : List.of(a, b)) {
                for (Param p : opt.params()) {
                    float[] g = p.grad();
                    for (int i = 0; i < g.length; i++) g[i] *= s;
                }
            }
        }
        return norm;
    }

    private static void writeModel(Path dir, ModelConfig mc, TrainableDecoder net, TrainableSkipRouters routers, PretrainConfig cfg) {
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
            Files.writeString(dir.resolve("config.json"), c.toPrettyString());
            Path tok = cfg.tokenizer();
            if (tok != null && Files.isDirectory(tok)) {
                for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
                    if (Files.exists(tok.resolve(f))) Files.copy(tok.resolve(f), dir.resolve(f));
                }
            }
        } catch (IOException e) {
            throw new FormatException(dir, "cannot write: " + e.getMessage());
        }
    }

    private static Path temporaryBeside(Path out) {
        try {
            Files.createDirectories(out.getParent());
            return Files.createTempDirectory(out.getParent(), "." + out.getFileName() + ".tmp");
        } catch (IOException e) {
            throw new FormatException(out, "cannot create the output directory: " + e.getMessage());
        }
    }

    /** Renames the finished directory into place; an existing {@code out} is moved aside first, then deleted. */
    private static void replace(Path tmp, Path out) {
        try {
            Path old = null;
            if (Files.exists(out)) {
                old = Files.createTempDirectory(out.getParent(), "." + out.getFileName() + ".old");
                Files.delete(old);
                Files.move(out, old);
            }
            try {
                Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, out);
            }
            if (old != null) deleteTree(old);
        } catch (IOException e) {
            throw new FormatException(out, "cannot move the finished model into place: " + e.getMessage());
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
