package org.flexidepth4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.Generator;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.Sampler;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.tokenizer.TextStream;
import org.flexidepth4j.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "generate", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Generate text from a prompt (or from token ids), streaming it as it is produced.")
public final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    SamplingOptions sampling;

    static final class Input {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "prompt text (BOS added as the tokenizer says)")
        String prompt;

        @Option(names = "--ids", paramLabel = "IDS", split = ",", description = "comma-separated prompt token ids, run exactly as given")
        int[] ids;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "256", description = "tokens to generate at most (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--stop", paramLabel = "STR", description = "stop when the generated text contains STR (repeatable)")
    List<String> stops = new ArrayList<>();

    @Option(names = "--chat", description = "wrap the prompt as a user message in the tokenizer's chat template")
    boolean chat;

    @Option(names = "--json", description = "print one JSON object with ids, text, speed and the per-token layer trace")
    boolean json;

    @Option(names = "--show-layers", description = "colour each token by the number of layers it used")
    boolean showLayers;

    @Override
    public Integer call() {
        Model model = modelOptions.load();
        SkipPolicy policy = modelOptions.policy(model);
        int context = modelOptions.contextLength(model);
        Tokenizer tokenizer = model.tokenizer();
        int[] prompt = promptIds(model);
        long actualSeed = sampling.seed();
        Sampler sampler = sampling.sampler(actualSeed, model.config().vocabSize());
        int layers = model.config().numLayers();

        PrintWriter out = spec.commandLine().getOut();
        if (!json && input.prompt != null && !chat) {
            out.print(input.prompt); // the continuation reads on from the prompt
            out.flush();
        }
        TextStream stream = new TextStream(tokenizer, stops, json ? (st, from, to) -> { } : printer(out, showLayers ? layers : 0));
        Generator.Result r = Generator.generate(model.transformer(), policy, prompt, maxTokens, context, sampler,
                Prompts.eosIds(model), stream::accept);
        stream.finish();

        if (json) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            ArrayNode ids = o.putArray("ids");
            for (int id : r.ids()) ids.add(id);
            o.put("text", stream.text());
            o.put("prompt_tokens", r.promptTokens());
            o.put("generated_tokens", r.ids().length);
            o.put("tokens_per_second", r.decodeTokensPerSecond());
            o.put("prefill_tokens_per_second", r.prefillTokensPerSecond());
            o.put("stop", r.stop().name().toLowerCase());
            o.put("num_layers", layers);
            o.put("mean_layers_used", r.meanLayersUsed());
            ArrayNode used = o.putArray("layers_used");
            for (int u : r.layersUsed()) used.add(u);
            ArrayNode gates = o.putArray("gates");
            for (float[] g : r.gates()) {
                ArrayNode row = gates.addArray();
                for (float x : g) if (x != -1f) row.add(x);
            }
            o.put("seed", actualSeed);
            out.println(o.toString());
        } else {
            out.println();
            out.flush();
            PrintWriter err = spec.commandLine().getErr();
            if (showLayers) err.println(LayerColors.legend(layers, r.meanLayersUsed()));
            err.printf("[%d prompt tokens, %d generated, prefill %.1f tok/s, decode %.1f tok/s, mean layers used %.2f of %d]%n",
                    r.promptTokens(), r.ids().length, r.prefillTokensPerSecond(), r.decodeTokensPerSecond(), r.meanLayersUsed(), layers);
        }
        out.flush();
        return 0;
    }

    private int[] promptIds(Model model) {
        if (input.ids != null) {
            if (chat) throw new IllegalArgumentException("--chat needs --prompt, not --ids");
            return input.ids;
        }
        Tokenizer tokenizer = model.requireTokenizer();
        if (!chat) return tokenizer.encodeWithSpecial(input.prompt);
        return tokenizer.encode(Prompts.chat(model, input.prompt));
    }

    /** Prints what a {@link TextStream} emits, each character coloured by its token's layers when {@code layers > 0}. */
    static TextStream.Sink printer(PrintWriter out, int layers) {
        return (stream, from, to) -> {
            CharSequence text = stream.chars();
            if (layers == 0) {
                out.append(text, from, to);
            } else {
                int i = from;
                while (i < to) {
                    int j = i;
                    while (j < to && stream.layersAt(j) == stream.layersAt(i)) j++;
                    out.append(LayerColors.start(stream.layersAt(i), layers)).append(text, i, j).append(LayerColors.RESET);
                    i = j;
                }
            }
            out.flush();
        };
    }
}
