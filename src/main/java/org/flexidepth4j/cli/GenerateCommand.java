package org.flexidepth4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.Generator;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.Sampler;
import org.flexidepth4j.model.SkipPolicy;
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
        TextStream stream = new TextStream(tokenizer, stops, json ? null : out, showLayers ? layers : 0);
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

    /**
     * Streams decoded text, holding back just enough to never print part of a stop string or a broken UTF-8
     * character; with a layer count, each character is coloured by the layers its token used.
     */
    static final class TextStream {
        private final Tokenizer tokenizer;
        private final Tokenizer.StreamDecoder decoder;
        private final List<String> stops;
        private final PrintWriter out;
        private final int layers;
        private final StringBuilder text = new StringBuilder();
        private int[] charLayers = new int[256];
        private int emitted;
        private int end = -1;
        private int lastLayersUsed;

        TextStream(Tokenizer tokenizer, List<String> stops, PrintWriter out, int layers) {
            this.tokenizer = tokenizer;
            this.decoder = tokenizer != null ? tokenizer.streamDecoder() : null;
            this.stops = stops;
            this.out = out;
            this.layers = layers;
        }

        /** Takes one generated token; false once a stop string has appeared. */
        boolean accept(int id, int layersUsed) {
            lastLayersUsed = layersUsed;
            append(decoder != null ? decoder.next(id) : (text.isEmpty() ? "" : " ") + id, layersUsed);
            int stopAt = firstStop();
            if (stopAt >= 0) {
                end = stopAt;
                emit(stopAt);
                return false;
            }
            emit(text.length() - heldBack());
            return true;
        }

        void finish() {
            if (end < 0) {
                if (decoder != null) append(decoder.flush(), lastLayersUsed);
                end = text.length();
                emit(end);
            }
            if (out != null) out.flush();
        }

        String text() {
            return text.substring(0, end < 0 ? text.length() : end);
        }

        private void append(String piece, int layersUsed) {
            if (piece.isEmpty()) return;
            int from = text.length();
            text.append(piece);
            if (charLayers.length < text.length()) charLayers = Arrays.copyOf(charLayers, Math.max(text.length(), 2 * charLayers.length));
            Arrays.fill(charLayers, from, text.length(), layersUsed);
        }

        private int firstStop() {
            int best = -1;
            for (String s : stops) {
                if (s.isEmpty()) continue;
                int i = text.indexOf(s, Math.max(0, emitted - s.length()));
                if (i >= 0 && (best < 0 || i < best)) best = i;
            }
            return best;
        }

        /** Length of the longest tail of the text that could still grow into a stop string. */
        private int heldBack() {
            int hold = 0;
            for (String s : stops) {
                for (int k = Math.min(s.length() - 1, text.length()); k > hold; k--) {
                    if (CharSequence.compare(text.subSequence(text.length() - k, text.length()), s.substring(0, k)) == 0) {
                        hold = k;
                        break;
                    }
                }
            }
            return hold;
        }

        private void emit(int upTo) {
            if (upTo <= emitted) return;
            if (out != null) {
                if (layers == 0) {
                    out.append(text, emitted, upTo);
                } else {
                    int i = emitted;
                    while (i < upTo) {
                        int j = i;
                        while (j < upTo && charLayers[j] == charLayers[i]) j++;
                        out.append(LayerColors.start(charLayers[i], layers)).append(text, i, j).append(LayerColors.RESET);
                        i = j;
                    }
                }
                out.flush();
            }
            emitted = upTo;
        }
    }
}
