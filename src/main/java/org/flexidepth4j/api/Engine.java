package org.flexidepth4j.api;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.load.EmbeddedModel;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.skip.SkipModes;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tokenizer.ChatTemplate;
import org.flexidepth4j.tokenizer.Tokenizer;

/**
 * A loaded model ready to generate: load it once and share it. It is thread-safe: the weights are read-only and
 * every call runs its own {@link Generation} (sequence state, sampler, text), so concurrent calls need no locking.
 *
 * <pre>{@code
 * Engine engine = Engine.loadEmbedded();                 // or Engine.load(Path.of("models/llama-3.2-1b"))
 * GenerationResult r = engine.generate("Once upon a time", GenerationOptions.builder().maxTokens(40).seed(1).build(),
 *         token -> System.out.print(token.text()));
 * }</pre>
 */
public final class Engine {
    private final Model model;
    private final int contextLength;
    private final int[] eosIds;
    private final int[] calibrationIds;
    private final Map<String, SkipPolicy> policies = new ConcurrentHashMap<>();

    private Engine(Model model, int contextLength, String calibrationText) {
        this.model = model;
        this.contextLength = contextLength;
        this.eosIds = eosIds(model);
        this.calibrationIds = calibrationText == null ? null : model.requireTokenizer().encodeWithSpecial(calibrationText);
    }

    /** The model at {@code path}: an HF directory, a {@code .gguf} file or a llama2.c {@code .bin}. */
    public static Engine load(Path path) {
        return loader().model(path).load();
    }

    /** The model that ships in the jar (tinylm-12l with its FlexiDepth router), extracted once into the user's cache. */
    public static Engine loadEmbedded() {
        return loader().load();
    }

    /** Loading with a tokenizer, a FlexiDepth plug-in, quantization or a context length of one's choice. */
    public static Loader loader() {
        return new Loader();
    }

    /** An engine over an already loaded model, with the model's full context. */
    public static Engine of(Model model) {
        return new Engine(model, contextLength(model, null), null);
    }

    /** {@code requested} checked against the model's maximum positions; null means that maximum. */
    public static int contextLength(Model model, Integer requested) {
        int max = model.config().maxPositions();
        if (requested == null) return max;
        if (requested < 1) throw new IllegalArgumentException("the context length must be >= 1, got " + requested);
        if (requested > max) throw new IllegalArgumentException("a context of " + requested + " tokens exceeds the model's maximum of " + max + " positions");
        return requested;
    }

    public Model model() {
        return model;
    }

    public int contextLength() {
        return contextLength;
    }

    public int numLayers() {
        return model.config().numLayers();
    }

    /** The ids that end generation: the tokenizer's, and an HF directory's config.json and generation_config.json. */
    public int[] eosIds() {
        return eosIds.clone();
    }

    /** Prompt ids of {@code text}, with BOS/EOS added as the tokenizer's configuration says. */
    public int[] encode(String text) {
        return model.requireTokenizer().encodeWithSpecial(text);
    }

    public String decode(int[] ids) {
        return model.requireTokenizer().decode(ids);
    }

    /** The conversation rendered with the model's chat template, ending where the assistant's answer begins. */
    public String chatPrompt(List<ChatMessage> messages) {
        Tokenizer tokenizer = model.requireTokenizer();
        if (tokenizer.chatTemplate() == null) throw new IllegalArgumentException(model.source() + ": the model's tokenizer has no chat template");
        List<ChatTemplate.Message> rendered = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) rendered.add(new ChatTemplate.Message(m.role(), m.content()));
        return ChatTemplate.compile(tokenizer.chatTemplate()).render(rendered, true, tokenizer);
    }

    /** Prompt ids of the rendered conversation (the template writes its own special tokens). */
    public int[] chatPromptIds(List<ChatMessage> messages) {
        return model.requireTokenizer().encode(chatPrompt(messages));
    }

    /** A generation of its own for {@code promptIds}, to run (and possibly cancel) when the caller wants. */
    public Generation newGeneration(int[] promptIds, GenerationOptions options) {
        return new Generation(this, promptIds, options);
    }

    public GenerationResult generate(String prompt, GenerationOptions options) {
        return generate(prompt, options, TokenListener.NONE);
    }

    /** Generates a continuation of {@code prompt}, streaming each token to {@code listener}. */
    public GenerationResult generate(String prompt, GenerationOptions options, TokenListener listener) {
        return newGeneration(encode(prompt), options).run(listener);
    }

    public GenerationResult chat(List<ChatMessage> messages, GenerationOptions options) {
        return chat(messages, options, TokenListener.NONE);
    }

    /** Generates the assistant's next message in the conversation, streaming each token to {@code listener}. */
    public GenerationResult chat(List<ChatMessage> messages, GenerationOptions options, TokenListener listener) {
        return newGeneration(chatPromptIds(messages), options).run(listener);
    }

    /** The skip policy of a mode ({@link GenerationOptions#skipMode()}), made once per mode and seed; static:K needs {@link Loader#calibration}. */
    SkipPolicy policy(String mode, long seed) {
        return policies.computeIfAbsent(mode + "\u0000" + seed, k -> SkipModes.parse(mode, model, calibrationIds, seed));
    }

    /** The ids that end a generation: the tokenizer's EOS ids and any {@code eos_token_id} of the model's config files. */
    public static int[] eosIds(Model model) {
        IntStream ids = model.tokenizer() != null ? Arrays.stream(model.tokenizer().eosIds()) : IntStream.empty();
        Path source = model.source();
        if (Files.isDirectory(source)) {
            for (String name : new String[] {"config.json", "generation_config.json"}) {
                Path file = source.resolve(name);
                if (Files.isRegularFile(file)) ids = IntStream.concat(ids, idsOf(Json.read(file).path("eos_token_id")));
            }
        }
        return ids.distinct().toArray();
    }

    private static IntStream idsOf(JsonNode node) {
        if (node.canConvertToInt()) return IntStream.of(node.asInt());
        if (node.isArray()) {
            IntStream.Builder b = IntStream.builder();
            for (JsonNode n : node) if (n.canConvertToInt()) b.add(n.asInt());
            return b.build();
        }
        return IntStream.empty();
    }

    /** Which model to load and how; {@link #load()} reads it. */
    public static final class Loader {
        private Path model;
        private Path tokenizer;
        private Path adapters;
        private DType quantize;
        private Integer contextLength;
        private String calibration;
        private boolean weightCheck = true;
        private Consumer<String> notices = message -> {
        };

        private Loader() {
        }

        /** HF directory, {@code .gguf} or llama2.c {@code .bin}; not set: the embedded model. */
        public Loader model(Path path) {
            model = path;
            return this;
        }

        /** A tokenizer to use instead of the model's own (HF directory or tokenizer.json, llama2.c tokenizer.bin, .gguf). */
        public Loader tokenizer(Path path) {
            tokenizer = path;
            return this;
        }

        /** A FlexiDepth plug-in (routers and adapters, .safetensors) replacing whatever routing the model carries. */
        public Loader adapters(Path file) {
            adapters = file;
            return this;
        }

        /** Quantize the weights on load: {@code q8_0} or {@code q4_0}. */
        public Loader quantize(String type) {
            quantize = switch (type.toLowerCase(Locale.ROOT)) {
                case "q8_0" -> DType.Q8_0;
                case "q4_0" -> DType.Q4_0;
                default -> throw new IllegalArgumentException("quantize " + type + ": expected q8_0 or q4_0");
            };
            return this;
        }

        /** Tokens of context (prompt + generated) at most; default the model's maximum positions. */
        public Loader contextLength(int tokens) {
            contextLength = tokens;
            return this;
        }

        /** Text on which the skip mode static:K measures Block Influence. */
        public Loader calibration(String text) {
            calibration = text;
            return this;
        }

        /** Whether to scan every weight for NaN and infinity on load (default on; off for trusted files only). */
        public Loader weightCheck(boolean on) {
            weightCheck = on;
            return this;
        }

        /** Receives one line for what a user may not expect, e.g. a plug-in replacing the one the model carries. */
        public Loader onNotice(Consumer<String> receiver) {
            notices = receiver;
            return this;
        }

        public Engine load() {
            Model m = ModelLoader.load(model != null ? model : EmbeddedModel.directory(), tokenizer, weightCheck);
            if (quantize != null) m = ModelLoader.quantize(m, quantize);
            if (adapters != null) {
                if (m.defaultPolicy() != SkipPolicy.NONE) {
                    notices.accept("the plug-in " + adapters + " replaces the routers that " + (model != null ? model : "the embedded " + EmbeddedModel.NAME) + " carries");
                }
                m = SkipModes.withAdapters(m, adapters);
            }
            return new Engine(m, Engine.contextLength(m, contextLength), calibration);
        }
    }
}
