package org.flexidepth4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.flexidepth4j.eval.EvalData;
import org.flexidepth4j.eval.Perplexity;
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

    @Option(names = "--chunks", paramLabel = "N",
            description = "llama.cpp's llama-perplexity protocol instead of the sliding window: the first N disjoint chunks of --max-tokens tokens"
                    + " (0: all), each starting from BOS, the second half of each scored")
    Integer chunks;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() {
        Model model = modelOptions.load();
        SkipPolicy policy = modelOptions.policy(model);
        if (maxTokens < 2) throw new IllegalArgumentException("--max-tokens must be >= 2, got " + maxTokens);
        int context = modelOptions.contextLength(model);
        int window = Math.min(maxTokens, context);
        String text = TextFiles.read(file);
        Scorer scorer = new TransformerScorer(model.transformer(), policy, Math.min(maxTokens + 1, context)); // paragraphs: BOS + maxTokens
        if (chunks != null && splitParagraphs) throw new IllegalArgumentException("--chunks and --split-paragraphs are two protocols: choose one");
        Tokenizer tok = model.requireTokenizer();
        Perplexity.Nll r = chunks != null
                ? Perplexity.chunks(scorer, Prompts.withBos(tok, tok.encode(text)), tok.bosId(), window, chunks, null)
                : splitParagraphs
                ? Perplexity.paragraphs(scorer, tok, EvalData.paragraphs(text), maxTokens - 1, null) // BOS + maxTokens - 1 = maxTokens
                : Perplexity.slidingWindow(scorer, tok.encodeWithSpecial(text), window,
                        stride != null ? stride : Math.max(1, window / 2), 0, null);
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
            out.println(o.toString());
        } else {
            out.printf("mean NLL %.4f nats/token, perplexity %.3f over %d tokens; mean layers used %.2f of %d%n",
                    r.mean(), r.ppl(), r.tokens(), meanLayers, layers);
        }
        return 0;
    }
}
