package org.flexidepth4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.flexidepth4j.api.ChatMessage;
import org.flexidepth4j.api.Engine;
import org.flexidepth4j.api.GenerationOptions;
import org.flexidepth4j.api.GenerationResult;
import org.flexidepth4j.api.Timings;
import org.flexidepth4j.api.Token;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.Terminal;
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
        @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "prompt text (BOS added as the tokenizer says); - reads it from standard input")
        String prompt;

        @Option(names = "--prompt-file", paramLabel = "FILE", description = "read the prompt text from a UTF-8 file")
        Path promptFile;

        @Option(names = "--ids", paramLabel = "IDS", split = ",", description = "comma-separated prompt token ids, run exactly as given")
        int[] ids;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Option(names = {"-n", "--max-tokens"}, paramLabel = "N", defaultValue = "256", description = "tokens to generate at most (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--stop", paramLabel = "STR", description = "stop when the generated text contains STR (repeatable)")
    List<String> stops = new ArrayList<>();

    @Option(names = "--chat", description = "wrap the prompt as a user message in the tokenizer's chat template")
    boolean chat;

    @Option(names = "--json", description = "print one JSON object with ids, text, speed and the per-token layer trace")
    boolean json;

    @Option(names = "--show-layers", description = "colour each token by the number of layers it used (on a terminal, unless NO_COLOR is set)")
    boolean showLayers;

    @Override
    public Integer call() {
        Engine engine = modelOptions.engine();
        String promptText = promptText();
        int[] prompt = promptIds(engine, promptText);
        GenerationOptions.Builder options = GenerationOptions.builder().maxTokens(maxTokens).temperature(sampling.temperature)
                .topK(sampling.topK).topP(sampling.topP).minP(sampling.minP).repetitionPenalty(sampling.repetitionPenalty).stops(stops).skip(modelOptions.skip).skipSeed(modelOptions.skipSeed);
        if (sampling.seed != null) options.seed(sampling.seed);
        int layers = engine.numLayers();

        PrintWriter out = spec.commandLine().getOut();
        if (!json && promptText != null && !chat) {
            out.print(promptText); // the continuation reads on from the prompt
            out.flush();
        }
        boolean colour = showLayers && Terminal.colours(Terminal.STDOUT);
        GenerationResult r = engine.newGeneration(prompt, options.build()).run(token -> {
            if (json || token.text().isEmpty()) return;
            out.print(colour ? coloured(token, layers) : token.text());
            out.flush();
        });

        Timings t = r.timings();
        if (json) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            ArrayNode ids = o.putArray("ids");
            for (int id : r.ids()) ids.add(id);
            o.put("text", r.text());
            o.put("prompt_tokens", t.promptTokens());
            o.put("generated_tokens", r.ids().length);
            o.put("tokens_per_second", t.decodeTokensPerSecond());
            o.put("prefill_tokens_per_second", t.prefillTokensPerSecond());
            o.put("stop", r.stopReason().name().toLowerCase(Locale.ROOT));
            o.put("num_layers", layers);
            o.put("mean_layers_used", r.meanLayersUsed());
            ArrayNode used = o.putArray("layers_used");
            for (int u : r.layersUsed()) used.add(u);
            ArrayNode gates = o.putArray("gates");
            for (float[] g : r.gates()) {
                ArrayNode row = gates.addArray();
                for (float x : g) if (x != -1f) row.add(x);
            }
            o.put("seed", r.seed());
            out.println(o.toString());
        } else {
            out.println();
            out.flush();
            PrintWriter err = spec.commandLine().getErr();
            if (showLayers && Terminal.colours(Terminal.STDERR)) err.println(LayerColors.legend(layers, r.meanLayersUsed()));
            err.printf("[%d prompt tokens, %d generated, prefill %.1f tok/s, decode %.1f tok/s, mean layers used %.2f of %d]%n",
                    t.promptTokens(), r.ids().length, t.prefillTokensPerSecond(), t.decodeTokensPerSecond(), r.meanLayersUsed(), layers);
        }
        out.flush();
        return 0;
    }

    /** A token's text on the background colour of the layers it used. */
    static String coloured(Token token, int layers) {
        return LayerColors.start(token.layersUsed(), layers) + token.text() + LayerColors.RESET;
    }

    /** The prompt text of --prompt (- = standard input) or --prompt-file, less one final line break; null with --ids. */
    private String promptText() {
        if (input.promptFile != null) return withoutFinalLineBreak(TextFiles.read(input.promptFile));
        if ("-".equals(input.prompt)) {
            try {
                return withoutFinalLineBreak(new String(System.in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the prompt from standard input: " + e.getMessage(), e);
            }
        }
        return input.prompt;
    }

    private static String withoutFinalLineBreak(String text) {
        return text.endsWith("\r\n") ? text.substring(0, text.length() - 2) : text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
    }

    private int[] promptIds(Engine engine, String promptText) {
        if (input.ids != null) {
            if (chat) throw new IllegalArgumentException("--chat needs --prompt, not --ids");
            return input.ids;
        }
        return chat ? engine.chatPromptIds(List.of(ChatMessage.user(promptText))) : engine.encode(promptText);
    }
}
