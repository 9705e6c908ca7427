package org.flexidepth4j.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.flexidepth4j.io.OutputDirectory;
import org.flexidepth4j.train.PretrainConfig;
import org.flexidepth4j.train.Pretrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "pretrain", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Pretrain a model from scratch with Learning-to-Skip binary routers (or dense), from a JSON config (docs/LEARNING-TO-SKIP.md).")
public final class PretrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "CFG", description = "pretraining config (JSON): model shape, router, optimizer, data, tokenizer")
    Path config;

    @Option(names = "--data", arity = "1..*", paramLabel = "FILE", description = "text files replacing the config's data.files")
    List<Path> data;

    @Option(names = "--steps", paramLabel = "N", description = "optimizer steps, >= 1 (default: the config's)")
    Integer steps;

    @Option(names = "--out", paramLabel = "DIR", description = "output HF directory (default: the config's)")
    Path out;

    @Option(names = "--resume", paramLabel = "DIR", description = "continue a killed run: its output directory (DIR.partial is looked in), a directory holding checkpoint.safetensors, or the file")
    Path resume;

    @Option(names = "--no-progress", description = "no progress bar")
    boolean noProgress;

    @Override
    public Integer call() {
        if (steps != null && steps < 1) throw new IllegalArgumentException("--steps must be >= 1, got " + steps);
        PretrainConfig cfg = PretrainConfig.read(config).with(data, steps == null ? 0 : steps, out);
        if (cfg.out() == null) throw new IllegalArgumentException("no output directory given (--out, or \"out\" in the config)");
        Pretrainer.Result r;
        try (OutputDirectory dir = OutputDirectory.lock(cfg.out())) { // Pretrainer writes in out.partial and renames it
            r = Pretrainer.run(cfg, resume, !noProgress);
        }
        spec.commandLine().getOut().printf("pretrained %d steps, last loss %.4f, held-out NLL %.4f with %.1f%% of routed layers executed; wrote %s%n",
                r.losses().size(), r.losses().isEmpty() ? Double.NaN : r.losses().getLast(), r.valLoss(), 100 * r.valExecuted(), r.out());
        return 0;
    }
}
