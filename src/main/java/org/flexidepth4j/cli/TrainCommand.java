package org.flexidepth4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.Callable;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.OutputDirectory;
import org.flexidepth4j.tensor.Parallel;
import org.flexidepth4j.train.Checkpoint;
import org.flexidepth4j.train.TrainConfig;
import org.flexidepth4j.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "train", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Train a FlexiDepth plug-in (routers + adapters) on a frozen model, or every weight with --full-weights.")
public final class TrainCommand implements Callable<Integer> {
    /** The trainer's per-step log, carried over when resuming from a checkpoint outside out.partial. */
    private static final String METRICS = "metrics.jsonl";

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "HF model directory (its tokenizer is used)")
    Path model;

    @Option(names = "--data", required = true, arity = "1..*", paramLabel = "FILE", description = "UTF-8 text files (documents split at blank lines)")
    List<Path> data;

    @Option(names = "--val", paramLabel = "FILE", description = "held-out text (default: the last 5%% of the training sequences)")
    Path val;

    @Option(names = "--routed-layers", paramLabel = "LAYERS", description = "layers to route with a fresh plug-in, e.g. 6-11 (default: continue the model's own plug-in)")
    String routedLayers;

    @Option(names = "--full-weights", description = "train every base weight instead (dense, no plug-in)")
    boolean fullWeights;

    @Option(names = "--alpha", defaultValue = "1e-3", description = "skip-loss weight (default: ${DEFAULT-VALUE})")
    float alpha;

    @Option(names = "--threshold", defaultValue = "0.5", description = "run a layer when its gate exceeds this (default: ${DEFAULT-VALUE})")
    float threshold;

    @Option(names = "--steps", defaultValue = "1000", description = "optimizer steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--seq-len", defaultValue = "256", description = "tokens per sequence (default: ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = "--batch", defaultValue = "1", description = "sequences per micro-step (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--accumulation", defaultValue = "1", description = "micro-steps per optimizer step (default: ${DEFAULT-VALUE})")
    int accumulation;

    @Option(names = "--lr", defaultValue = "1e-4", description = "peak learning rate (default: ${DEFAULT-VALUE})")
    float lr;

    @Option(names = "--min-lr-ratio", defaultValue = "0", description = "final learning rate as a fraction of the peak (default: ${DEFAULT-VALUE})")
    float minLrRatio;

    @Option(names = "--warmup", defaultValue = "-1", description = "warmup steps (default: 3%% of the steps)")
    int warmup;

    @Option(names = "--clip", defaultValue = "1.0", description = "max gradient norm, 0 = off (default: ${DEFAULT-VALUE})")
    float clip;

    @Option(names = "--weight-decay", defaultValue = "0", description = "AdamW weight decay, not on norms (default: ${DEFAULT-VALUE})")
    float weightDecay;

    @Option(names = "--seed", defaultValue = "1", description = "seed of the init and the data order (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--checkpoint-every", defaultValue = "100", description = "steps between checkpoints (default: ${DEFAULT-VALUE})")
    int checkpointEvery;

    @Option(names = "--eval-every", defaultValue = "100", description = "steps between held-out evaluations (default: ${DEFAULT-VALUE})")
    int evalEvery;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory: metrics.jsonl, checkpoint.safetensors, flexidepth.safetensors")
    Path out;

    @Option(names = "--resume", paramLabel = "DIR", description = "continue a killed run from its output directory or checkpoint file")
    Path resume;

    @Option(names = "--no-progress", description = "no progress bar")
    boolean noProgress;

    @Override
    public Integer call() {
        try (OutputDirectory dir = OutputDirectory.lock(out)) {
            Path from = resume == null ? null : checkpointToResume(resume);
            Path work = dir.partial();
            if (from == null || !from.toAbsolutePath().normalize().startsWith(work)) { // else continue in out.partial as it is
                dir.fresh();
                copyIfPresent(from == null ? null : from.resolveSibling(METRICS), work.resolve(METRICS));
            }
            Trainer.Result r;
            try {
                r = train(work, from);
            } catch (RuntimeException e) {
                dir.discardPartialUnless(Checkpoint.FILE);
                throw e;
            }
            dir.commit();
            spec.commandLine().getOut().printf("trained %d steps, last loss %.4f, held-out LM loss %.4f; wrote %s%n",
                    r.steps(), r.losses().isEmpty() ? Double.NaN : r.losses().getLast(), r.lastValLoss(), out.resolve(r.output().getFileName()));
        }
        return 0;
    }

    /** The checkpoint --resume names: in DIR.partial of a killed run, else DIR's own or the file itself. */
    private static Path checkpointToResume(Path resume) {
        Path partial = OutputDirectory.partialOf(resume).resolve(Checkpoint.FILE);
        return Files.isRegularFile(partial) ? partial : Checkpoint.locate(resume);
    }

    private static void copyIfPresent(Path from, Path to) {
        if (from == null || !Files.isRegularFile(from)) return;
        try {
            Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new FormatException(to, "cannot copy " + from + ": " + e.getMessage());
        }
    }

    private Trainer.Result train(Path work, Path from) {
        TrainConfig cfg = TrainConfig.builder(model, data, work).val(val).routedLayers(routedLayers).fullWeights(fullWeights)
                .alpha(alpha).threshold(threshold).steps(steps).seqLen(seqLen).batch(batch).accumulation(accumulation)
                .lr(lr).minLrRatio(minLrRatio).warmup(warmup).clip(clip).weightDecay(weightDecay).seed(seed)
                .threads(Parallel.pool().threads()).checkpointEvery(checkpointEvery).evalEvery(evalEvery)
                .resume(from).progress(!noProgress).build();
        return Trainer.run(cfg);
    }
}
