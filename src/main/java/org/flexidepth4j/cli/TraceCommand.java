package org.flexidepth4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.flexidepth4j.eval.TraceConfig;
import org.flexidepth4j.eval.TraceSummary;
import org.flexidepth4j.eval.Tracer;
import org.flexidepth4j.io.OutputDirectory;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "trace", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Per-token layer allocation: tokens.jsonl.gz, summary.json, layers.html, heatmap.png, skip_by_layer.png.")
public final class TraceCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    static final class Input {
        @Option(names = "--file", required = true, paramLabel = "TEXT", description = "text file, documents separated by blank lines")
        Path file;

        @Option(names = "--prompts", required = true, paramLabel = "JSONL", description = "JSONL of {\"prompt\": ...}")
        Path prompts;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Option(names = "--generate", paramLabel = "N", defaultValue = "0", description = "greedy tokens generated after each document (default: ${DEFAULT-VALUE})")
    int generate;

    @Option(names = "--limit", paramLabel = "DOCS", defaultValue = "0", description = "documents to trace; 0 = all")
    int limit;

    @Option(names = "--out", paramLabel = "DIR", required = true, description = "output directory")
    Path out;

    @Option(names = "--no-progress", description = "no progress bar on stderr")
    boolean noProgress;

    @Override
    public Integer call() {
        Model model = modelOptions.load();
        SkipPolicy policy = modelOptions.policy(model);
        TraceSummary s;
        try (OutputDirectory dir = OutputDirectory.lock(out)) {
            s = dir.produce(work -> Tracer.run(new TraceConfig(model, policy, input.file, input.prompts, generate, work, limit,
                    modelOptions.contextLength(model), !noProgress, modelOptions.plugin(model, policy))));
        }
        PrintWriter w = spec.commandLine().getOut();
        w.printf("%d tokens in %d documents, mean layers used %.2f of %d; wrote %s%n", s.tokens(), s.docs(), s.meanLayers(), s.numLayers(), out);
        w.flush();
        return 0;
    }
}
