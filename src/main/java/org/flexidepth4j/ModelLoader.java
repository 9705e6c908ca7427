package org.flexidepth4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Gguf;
import org.flexidepth4j.io.GgufCheckpoint;
import org.flexidepth4j.io.HfCheckpoint;
import org.flexidepth4j.io.Llama2cCheckpoint;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.HfConfig;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.skip.FlexiDepth;
import org.flexidepth4j.tokenizer.Tokenizer;
import org.flexidepth4j.tokenizer.Tokenizers;

/** Opens a model in any supported format: an HF directory, a GGUF file, or a llama2.c checkpoint. */
public final class ModelLoader {
    private ModelLoader() {
    }

    public static Model load(Path path) {
        if (!Files.exists(path)) throw new FormatException(path, "file not found");
        if (Files.isDirectory(path)) return loadHf(path);
        if (path.getFileName().toString().endsWith(".bin")) return loadLlama2c(path);
        if (path.getFileName().toString().endsWith(".gguf")) return loadGguf(path);
        throw new FormatException(path, "unrecognised model format (expected an HF directory, a .gguf file or a llama2.c .bin)");
    }

    /** {@link #load(Path)}, with the tokenizer taken from {@code tokenizerOrNull} when one is given. */
    public static Model load(Path path, Path tokenizerOrNull) {
        Model model = load(path);
        if (tokenizerOrNull == null) return model;
        Tokenizer tokenizer = Tokenizers.load(tokenizerOrNull);
        return new Model(model.source(), model.format(), model.transformer(), tokenizer, model.defaultPolicy());
    }

    private static Model loadHf(Path dir) {
        ModelConfig config = HfConfig.read(dir.resolve("config.json"));
        Map<String, TensorEntry> tensors = HfCheckpoint.tensors(dir);
        ModelWeights weights = ModelWeights.fromTensors(config, tensors, dir);
        Tokenizer tokenizer = Tokenizers.fromHfDirectory(dir);
        SkipPolicy policy = FlexiDepth.hasRouters(tensors) ? FlexiDepth.fromHfDirectory(dir, config, tensors) : SkipPolicy.NONE;
        return new Model(dir, "hf", new Transformer(config, weights), tokenizer, policy);
    }

    private static Model loadGguf(Path file) {
        Gguf gguf = Gguf.open(file);
        GgufCheckpoint checkpoint = GgufCheckpoint.of(gguf);
        ModelWeights weights = ModelWeights.fromTensors(checkpoint.config(), checkpoint.tensors(), file);
        return new Model(file, "gguf", new Transformer(checkpoint.config(), weights), null, SkipPolicy.NONE);
    }

    /** A llama2.c checkpoint carries no tokenizer: the model's tokenizer is null until one is given. */
    private static Model loadLlama2c(Path file) {
        Llama2cCheckpoint checkpoint = Llama2cCheckpoint.open(file);
        ModelWeights weights = ModelWeights.fromTensors(checkpoint.config(), checkpoint.tensors(), file);
        return new Model(file, "llama2c", new Transformer(checkpoint.config(), weights), null, SkipPolicy.NONE);
    }
}
