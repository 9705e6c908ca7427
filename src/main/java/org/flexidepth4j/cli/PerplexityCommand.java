package org.flexidepth4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.flexidepth4j.eval.EvalData;
import org.flexidepth4j.eval.Perplexity;
import org.flexidepth4j.eval.Progress;
import org.flexidepth4j.eval.Prompts;
import org.flexidepth4j.eval.Scorer;
import org.flexidepth4j.eval.TransformerScorer;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "perplexity", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Mean negative log-likelihood and perplexity of a text file, with the mean layers used.")
public final class PerplexityCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--file", required = true, paramLabel = "TEXT_FILE", description = "UTF-8 text")
    Path file;

    @Option(names = "--split-paragraphs", description = "score each blank-line separated paragraph on its own, from BOS")
    boolean splitParagraphs;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "256",
            description = "tokens per paragraph (truncated) or per window (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--stride", paramLabel = "N", description = "window step without --split-paragraphs (default: half the window)")
    Integer stride;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "0", description = "score only the first N paragraphs (or windows); 0 = all")
    int limit;

    @Option(names = "--chunks", paramLabel = "N",
            description = "llama.cpp's llama-perplexity protocol instead of the sliding window: the first N disjoint chunks of --max-tokens tokens"
                    + " (0: all), each starting from BOS, the second half of each scored")
    Integer chunks;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Option(names = "--no-progress", description = "no progress bar (there is none anyway when stderr is not a terminal)")
    boolean noProgress;

    @Override
    public Integer call() {
        Model model = modelOptions.load();
        SkipPolicy policy = modelOptions.policy(model);
        if (maxTokens < 2) throw new IllegalArgumentException("--max-tokens must be >= 2, got " + maxTokens);
        if (limit < 0) throw new IllegalArgumentException("--limit must be >= 0, got " + limit);
        modelOptions.noteRouting(model, policy);
        int context = modelOptions.contextLength(model);
        int window = Math.min(maxTokens, context);
        String text = TextFiles.read(file);
        Scorer scorer = new TransformerScorer(model.transformer(), policy, Math.min(maxTokens + 1, context)); // paragraphs: BOS + maxTokens
        if (chunks != null && splitParagraphs) throw new IllegalArgumentException("--chunks and --split-paragraphs are two protocols: choose one");
        if (chunks != null && limit > 0) throw new IllegalArgumentException("--chunks N already bounds the chunks scored: drop --limit");
        Tokenizer tok = model.requireTokenizer();
        Perplexity.Nll r;
        if (chunks != null) {
            int[] ids = Prompts.withBos(tok, tok.encode(text));
            int whole = ids.length / window;
            try (Progress bar = Progress.start("perplexity", chunks > 0 ? Math.min(chunks, whole) : whole, !noProgress)) {
                r = Perplexity.chunks(scorer, ids, tok.bosId(), window, chunks, bar);
            }
        } else if (splitParagraphs) {
            List<String> paragraphs = EvalData.paragraphs(text);
            if (limit > 0 && paragraphs.size() > limit) paragraphs = paragraphs.subList(0, limit);
            try (Progress bar = Progress.start("perplexity", paragraphs.size(), !noProgress)) {
                r = Perplexity.paragraphs(scorer, tok, paragraphs, maxTokens - 1, bar); // BOS + maxTokens - 1 = maxTokens
            }
        } else {
            int[] tokens = tok.encodeWithSpecial(text);
            int step = stride != null ? stride : Math.max(1, window / 2);
            int windows = Perplexity.windows(tokens.length, window, step);
            try (Progress bar = Progress.start("perplexity", limit > 0 ? Math.min(limit, windows) : windows, !noProgress)) {
                r = Perplexity.slidingWindow(scorer, tokens, window, step, limit, bar);
            }
        }
        if (r.tokens() == 0) throw new IllegalArgumentException(file + ": no tokens to score");
        double meanLayers = (double) r.layers() / r.tokens();
        int layers = model.config().numLayers();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("mean_nll", r.mean());
            o.put("perplexity", r.ppl());
            o.put("tokens", r.tokens());
            o.put("mean_layers_used", meanLayers);
            o.put("mean_layers_skipped", layers - meanLayers);
            o.put("skip", modelOptions.skip);
            o.put("plugin", modelOptions.plugin(model, policy));
            out.println(o.toString());
        } else {
            out.printf("mean NLL %.4f nats/token, perplexity %.3f over %d tokens; mean layers used %.2f of %d%n",
                    r.mean(), r.ppl(), r.tokens(), meanLayers, layers);
        }
        return 0;
    }
}
