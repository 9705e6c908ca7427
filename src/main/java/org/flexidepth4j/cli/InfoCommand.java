package org.flexidepth4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Gguf;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.DecoderVariant;
import org.flexidepth4j.model.LayerWeights;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.tensor.Kernels;
import org.flexidepth4j.tensor.Matrix;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "info", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Describe a model: format, architecture, shapes, parameters, weight dtypes, tokenizer, routed layers;"
                + " for a GGUF file that cannot run here, its tensor types and those not supported.")
public final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Override
    public Integer call() {
        Path path = modelOptions.model;
        // a GGUF file's header says what it holds even when the model cannot run (a tensor type or architecture not supported here)
        Gguf gguf = path != null && path.getFileName().toString().endsWith(".gguf") && Files.isRegularFile(path) ? Gguf.open(path) : null;
        // so does an HF directory's config.json
        Path hfConfig = path != null && Files.isRegularFile(path.resolve("config.json")) ? path.resolve("config.json") : null;
        Model model;
        try {
            model = modelOptions.load();
        } catch (FormatException e) {
            if (gguf != null) return print(ggufThatCannotRun(gguf, e.getMessage()));
            if (hfConfig != null) return print(hfThatCannotRun(path, hfConfig, e.getMessage()));
            throw e;
        }
        ModelConfig c = model.config();
        SkipPolicy policy = modelOptions.policy(model);

        // Weight matrices by dtype (a tied lm_head is the embedding: counted once).
        Map<Matrix, Boolean> matrices = new IdentityHashMap<>();
        ModelWeights w = model.transformer().weights();
        matrices.put(w.embedding(), true);
        matrices.put(w.lmHead(), true);
        for (LayerWeights l : w.layers()) {
            for (Matrix m : new Matrix[] {l.wq(), l.wk(), l.wv(), l.wo()}) matrices.put(m, true);
            for (Matrix m : l.feedForwardMatrices()) matrices.put(m, true);
        }
        Map<String, Integer> dtypes = new TreeMap<>();
        long bytes = 0;
        for (Matrix m : matrices.keySet()) {
            dtypes.merge(m.dtype().name(), 1, Integer::sum);
            bytes += m.byteSize();
        }
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("source", model.source().toString());
        o.put("format", model.format());
        o.put("architecture", c.architecture());
        o.put("layers", c.numLayers());
        o.put("hidden", c.hiddenSize());
        o.put("heads", c.numHeads());
        o.put("kv_heads", c.numKvHeads());
        o.put("head_dim", c.headDim());
        o.put("ffn", c.intermediateSize());
        o.put("vocab", c.vocabSize());
        o.put("context", c.maxPositions());
        ObjectNode rope = o.putObject("rope");
        rope.put("theta", c.rope().theta());
        rope.put("type", c.rope().type());
        rope.put("interleaved", c.rope().interleaved());
        o.put("tied_embeddings", c.tiedEmbeddings());
        o.put("attention_bias", c.attentionBias());
        o.put("qk_norm", c.qkNorm());
        if (c.moe() != null) {
            ObjectNode moe = o.putObject("experts");
            moe.put("count", c.moe().experts());
            moe.put("per_token", c.moe().expertsPerToken());
            moe.put("ffn", c.moe().expertIntermediateSize());
            moe.put("renormalised", c.moe().normalizeTopK());
            moe.put("shared_ffn", c.moe().sharedIntermediateSize());
        }
        DecoderVariant v = c.variant();
        o.put("activation", v.activation().name().toLowerCase(java.util.Locale.ROOT));
        o.put("embedding_scaled", v.scaledEmbedding());
        o.put("sandwich_norms", v.sandwichNorms());
        o.put("attention_softcap", v.attentionSoftCap());
        o.put("final_softcap", v.finalSoftCap());
        o.put("sliding_window", v.slidingWindow());
        if (v.slidingWindow() > 0) o.put("sliding_layers", v.globalEvery() == 0 ? "all" : "all but every " + v.globalEvery() + "th");
        o.put("runs", true);
        o.put("parameters", c.parameterCount());
        ObjectNode dt = o.putObject("weight_dtypes");
        dtypes.forEach(dt::put);
        o.put("weight_bytes", bytes);
        o.put("kernels", Kernels.describe());
        o.put("tokenizer", model.tokenizer() == null ? null : model.tokenizer().getClass().getSimpleName());
        ArrayNode routed = o.putArray("routed_layers");
        for (int l = 0; l < c.numLayers(); l++) if (policy.isRouted(l)) routed.add(l);

        return print(o);
    }

    /** What a GGUF file holds and why it cannot run: its tensor types, those without a kernel here, the loader's error. */
    private static ObjectNode ggufThatCannotRun(Gguf gguf, String problem) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("source", gguf.file().toString());
        o.put("format", "gguf");
        o.put("architecture", gguf.getString("general.architecture", null));
        String arch = gguf.getString("general.architecture", "");
        if (gguf.metadata().get(arch + ".expert_count") instanceof Number count) {
            ObjectNode moe = o.putObject("experts");
            moe.put("count", count.longValue());
            if (gguf.metadata().get(arch + ".expert_used_count") instanceof Number used) moe.put("per_token", used.longValue());
        }
        o.put("runs", false);
        o.put("problem", problem);
        Map<String, Integer> types = new TreeMap<>(), unsupported = new TreeMap<>();
        for (TensorEntry t : gguf.tensors().values()) types.merge(t.dtype().name(), 1, Integer::sum);
        for (String type : gguf.unsupportedTensors().values()) unsupported.merge(type, 1, Integer::sum);
        ObjectNode tt = o.putObject("tensor_types");
        types.forEach(tt::put);
        ObjectNode ut = o.putObject("unsupported_types");
        unsupported.forEach(ut::put);
        return o;
    }

    /** What an HF directory's config.json says it is, and why it cannot run. */
    private static ObjectNode hfThatCannotRun(Path dir, Path config, String problem) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("source", dir.toString());
        o.put("format", "hf");
        String type;
        try {
            type = Json.read(config).path("model_type").asText(null);
        } catch (FormatException e) {
            type = null;
        }
        o.put("architecture", type);
        o.put("runs", false);
        o.put("problem", problem);
        return o;
    }

    private int print(ObjectNode o) {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(o.toString());
        } else {
            o.properties().forEach(e -> out.printf("%-16s %s%n", e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString()));
        }
        return 0;
    }
}
