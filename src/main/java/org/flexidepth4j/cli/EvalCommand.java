package org.flexidepth4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.flexidepth4j.eval.EvalConfig;
import org.flexidepth4j.eval.Evaluator;
import org.flexidepth4j.eval.TaskResult;
import org.flexidepth4j.eval.TaskSpec;
import org.flexidepth4j.io.OutputDirectory;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "eval", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Accuracy (lm-eval-harness style) and perplexity on evaluation sets, with mean layers used and tokens/s; writes results.json and report.md.")
public final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--tasks", required = true, paramLabel = "LIST",
            description = "comma-separated: arc_easy, arc_challenge, boolq, piqa, openbookqa, siqa, commonsense_qa, copa, hellaswag, winogrande, lambada, mmlu, mmlu_SUBJECT, gsm8k, wikitext, NAME=PATH, ppl=FILE")
    String tasks;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "../shared/data/eval", description = "where the default task files are (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "0", description = "items per task (per subject for MMLU, windows for perplexity); 0 = all")
    int limit;

    @Option(names = "--shots", paramLabel = "K", description = "few-shot examples (default: 5 for mmlu and gsm8k, else 0)")
    Integer shots;

    @Option(names = "--stride", paramLabel = "N", defaultValue = "0", description = "perplexity window stride (default: half the context)")
    int stride;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "256", description = "generation limit for gsm8k (default: ${DEFAULT-VALUE})")
    int maxNewTokens;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "eval-out", description = "output directory (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--no-progress", description = "no progress bar on stderr")
    boolean noProgress;

    @Override
    public Integer call() {
        List<TaskSpec> specs = TaskSpec.parse(tasks, dataDir);
        Model model = modelOptions.load();
        SkipPolicy policy = modelOptions.policy(model);
        modelOptions.noteRouting(model, policy);
        List<TaskResult> rows;
        try (OutputDirectory dir = OutputDirectory.lock(out)) {
            rows = dir.produce(work -> Evaluator.run(new EvalConfig(model, policy, specs, limit, shots, work,
                    modelOptions.contextLength(model), stride, maxNewTokens, !noProgress, modelOptions.plugin(model, policy))));
        }
        PrintWriter w = spec.commandLine().getOut();
        for (TaskResult r : rows) {
            w.printf("%-24s n=%-6d acc=%s acc_norm=%s ppl=%s layers/token=%.2f tokens/s=%.1f%n", r.task(), r.n(), fmt(r.acc()), fmt(r.accNorm()),
                    fmt(r.ppl()), r.layersPerToken(), r.tokensPerSecond());
        }
        w.println("wrote " + out.resolve("results.json") + " and " + out.resolve("report.md"));
        w.flush();
        return 0;
    }

    private static String fmt(Double v) {
        return v == null ? "-" : String.format(java.util.Locale.ROOT, "%.4f", v);
    }
}
