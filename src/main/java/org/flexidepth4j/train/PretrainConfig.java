package org.flexidepth4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.RopeConfig;
import org.flexidepth4j.skip.BinaryRouterConfig;

/**
 * A from-scratch pretraining run (Learning to Skip, METHODS.md section 2, or a dense baseline), read from a JSON
 * file; docs/LEARNING-TO-SKIP.md documents the format. Paths are taken relative to the working directory.
 *
 * @param router          binary skip routers, or null for a dense model
 * @param denseFirstLayers routers go on layers denseFirstLayers..L-1 unless the router object lists "layers"
 * @param vocabSize       0: the tokenizer's vocabulary size
 * @param valSequences    sequences held out from the end of the data for the validation NLL
 * @param checkpointEvery steps between checkpoints (one is also written at the end)
 */
public record PretrainConfig(int hiddenSize, int numLayers, int numHeads, int numKvHeads, int intermediateSize,
                             int context, int vocabSize, double ropeTheta, boolean tiedEmbeddings, double initStd,
                             BinaryRouterConfig router, int denseFirstLayers,
                             float lr, int warmupSteps, float minLrRatio, float weightDecay, float beta1, float beta2,
                             float adamEps, float clip,
                             List<Path> data, Path tokenizer, int seqLen, int batch, int steps, long seed,
                             int valSequences, int evalEvery, int checkpointEvery, int threads, Path out) {
    public PretrainConfig {
        data = List.copyOf(data);
        if (hiddenSize < 1 || numLayers < 1 || numHeads < 1 || numKvHeads < 1 || intermediateSize < 1 || context < 2) throw new IllegalArgumentException("model sizes must be positive");
        if (hiddenSize % numHeads != 0) throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numHeads);
        if (numHeads % numKvHeads != 0) throw new IllegalArgumentException("num_attention_heads " + numHeads + " is not a multiple of num_key_value_heads " + numKvHeads);
        if (seqLen < 2 || seqLen > context) throw new IllegalArgumentException("seq_len " + seqLen + " must be in 2.." + context + " (the context)");
        if (batch < 1 || steps < 1) throw new IllegalArgumentException("batch and steps must be >= 1");
        if (!(lr > 0)) throw new IllegalArgumentException("lr must be > 0, got " + lr);
        if (denseFirstLayers < 0 || denseFirstLayers > numLayers) throw new IllegalArgumentException("dense_first_layers " + denseFirstLayers + " is outside 0.." + numLayers);
        if (router != null) for (int l : router.layers()) if (l >= numLayers) throw new IllegalArgumentException("router layer " + l + " is outside 0.." + (numLayers - 1));
        if (threads < 1 || evalEvery < 1 || checkpointEvery < 1 || valSequences < 0) throw new IllegalArgumentException("threads, eval_every and checkpoint_every must be >= 1, val_sequences >= 0");
    }

    /** The decoder shape for a vocabulary of {@code vocab} ids. */
    public ModelConfig modelConfig(int vocab) {
        return new ModelConfig("llama", hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, hiddenSize / numHeads,
                vocab, context, 1e-5f, RopeConfig.plain(ropeTheta, false), tiedEmbeddings, false, false);
    }

    public static PretrainConfig read(Path file) {
        return parse(file, Json.read(file));
    }

    private static final Set<String> TOP = Set.of("model", "router", "optimizer", "data", "tokenizer", "steps", "seed", "eval_every", "checkpoint_every", "threads", "out");

    public static PretrainConfig parse(Path file, JsonNode c) {
        if (!c.isObject()) throw new FormatException(file, "pretraining config is not a JSON object");
        for (Iterator<String> it = c.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!TOP.contains(k)) throw new FormatException(file, "unknown key '" + k + "' (expected " + String.join(", ", TOP.stream().sorted().toList()) + ")");
        }
        JsonNode m = object(file, c, "model"), o = object(file, c, "optimizer"), d = object(file, c, "data");
        int layers = integer(file, m, "num_hidden_layers", -1);
        BinaryRouterConfig router = null;
        int denseFirst = 0;
        JsonNode r = c.get("router");
        if (r != null && !r.isNull()) {
            if (!r.isObject()) throw new FormatException(file, "router must be an object or null");
            denseFirst = integer(file, r, "dense_first_layers", 1);
            ObjectNode withLayers = ((ObjectNode) r).deepCopy();
            withLayers.remove("dense_first_layers");
            if (!withLayers.has("layers") && layers > 0) {
                var list = withLayers.putArray("layers");
                IntStream.range(Math.min(denseFirst, layers), layers).forEach(list::add);
            }
            router = BinaryRouterConfig.parse(file, withLayers);
        }
        List<Path> data = new ArrayList<>();
        JsonNode files = d.path("files");
        if (!files.isArray()) throw new FormatException(file, "data.files must be an array of paths");
        for (JsonNode f : files) data.add(Path.of(f.asText()));
        int hidden = integer(file, m, "hidden_size", -1);
        try {
            return new PretrainConfig(hidden, layers, integer(file, m, "num_attention_heads", -1),
                    integer(file, m, "num_key_value_heads", integer(file, m, "num_attention_heads", -1)),
                    integer(file, m, "intermediate_size", -1), integer(file, m, "max_position_embeddings", -1),
                    integer(file, m, "vocab_size", 0), number(file, m, "rope_theta", 10000), m.path("tie_word_embeddings").asBoolean(true),
                    number(file, m, "init_std", 0.02), router, denseFirst,
                    (float) number(file, o, "lr", 1e-3), integer(file, o, "warmup_steps", 0), (float) number(file, o, "min_lr_ratio", 0.1),
                    (float) number(file, o, "weight_decay", 0.1), (float) number(file, o, "beta1", 0.9), (float) number(file, o, "beta2", 0.95),
                    (float) number(file, o, "eps", 1e-8), (float) number(file, o, "clip", 1.0),
                    data, c.hasNonNull("tokenizer") ? Path.of(c.get("tokenizer").asText()) : null,
                    integer(file, d, "seq_len", 128), integer(file, d, "batch", 8), integer(file, c, "steps", 1000),
                    integer(file, c, "seed", 1), integer(file, d, "val_sequences", 16), integer(file, c, "eval_every", 100), integer(file, c, "checkpoint_every", 100),
                    integer(file, c, "threads", Runtime.getRuntime().availableProcessors()),
                    c.hasNonNull("out") ? Path.of(c.get("out").asText()) : null);
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage());
        }
    }

    /** The same run with the command line's overrides (null/0 keeps the file's value). */
    public PretrainConfig with(List<Path> data, int steps, Path out) {
        return new PretrainConfig(hiddenSize, numLayers, numHeads, numKvHeads, intermediateSize, context, vocabSize, ropeTheta,
                tiedEmbeddings, initStd, router, denseFirstLayers, lr, warmupSteps, minLrRatio, weightDecay, beta1, beta2, adamEps,
                clip, data == null || data.isEmpty() ? this.data : data, tokenizer, seqLen, batch, steps > 0 ? steps : this.steps,
                seed, valSequences, evalEvery, checkpointEvery, threads, out != null ? out : this.out);
    }

    private static JsonNode object(Path file, JsonNode c, String key) {
        JsonNode n = c.get(key);
        if (n == null || !n.isObject()) throw new FormatException(file, "missing object '" + key + "'");
        return n;
    }

    private static int integer(Path file, JsonNode n, String key, int fallback) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            if (fallback < 0) throw new FormatException(file, "missing key '" + key + "'");
            return fallback;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) throw new FormatException(file, "'" + key + "' must be an integer, got " + v);
        return v.asInt();
    }

    private static double number(Path file, JsonNode n, String key, double fallback) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber()) throw new FormatException(file, "'" + key + "' must be a number, got " + v);
        return v.asDouble();
    }
}
