package org.flexidepth4j.load;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Gguf;
import org.flexidepth4j.load.GgufCheckpoint;
import org.flexidepth4j.io.HfCheckpoint;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.load.Llama2cCheckpoint;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.load.HfConfig;
import org.flexidepth4j.model.LayerWeights;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.skip.BinaryRouters;
import org.flexidepth4j.skip.FlexiDepth;
import org.flexidepth4j.skip.FlexiDepthFiles;
import org.flexidepth4j.tensor.ColumnPanels;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Matrix;
import org.flexidepth4j.tensor.Quantizer;
import org.flexidepth4j.tokenizer.Tokenizer;
import org.flexidepth4j.tokenizer.Tokenizers;

/** Opens a model in any supported format: an HF directory, a GGUF file, or a llama2.c checkpoint. */
public final class ModelLoader {
    private ModelLoader() {
    }

    /** The model at {@code path}, every weight checked for NaN and infinity, its wide matrices laid out for decode. */
    public static Model load(Path path) {
        return load(path, null, true);
    }

    /**
     * The model at {@code path} with the tokenizer taken from {@code tokenizerOrNull} when one is given, its wide
     * matrices laid out for decode ({@link ColumnPanels}). {@code checkWeights}: scan every weight for NaN and
     * infinity (off only for trusted files: {@code --no-weight-check}).
     */
    public static Model load(Path path, Path tokenizerOrNull, boolean checkWeights) {
        // experts stay views of the mapped file: a token reads only a few of them, and panels would copy them all
        Model model = withMatrices(open(path, checkWeights), ColumnPanels::of, UnaryOperator.identity());
        prepareKernels(model);
        if (tokenizerOrNull == null) {
            if (model.tokenizer() != null) requireVocabularyFits(model, tokenizerSource(path), model.tokenizer());
            return model;
        }
        Tokenizer tokenizer = Tokenizers.load(tokenizerOrNull);
        requireVocabularyFits(model, tokenizerOrNull, tokenizer);
        return new Model(model.source(), model.format(), model.transformer(), tokenizer, model.defaultPolicy());
    }

    /** Every dense matrix a token multiplies by gets what its kernels read besides the stored layout, now ({@link Matrix#prepareKernels}). */
    private static void prepareKernels(Model model) {
        ModelWeights w = model.transformer().weights();
        for (LayerWeights l : w.layers()) {
            for (Matrix m : new Matrix[] {l.wq(), l.wk(), l.wv(), l.wo(), l.wGate(), l.wUp(), l.wDown()}) {
                if (m != null) m.prepareKernels();
            }
        }
        w.lmHead().prepareKernels();
    }

    private static Model open(Path path, boolean checkWeights) {
        if (!Files.exists(path)) throw new FormatException(path, "file not found");
        if (Files.isDirectory(path)) return loadHf(path, checkWeights);
        if (path.getFileName().toString().endsWith(".bin")) return loadLlama2c(path, checkWeights);
        if (path.getFileName().toString().endsWith(".gguf")) return loadGguf(path, checkWeights);
        throw new FormatException(path, "unrecognised model format (expected an HF directory, a .gguf file or a llama2.c .bin)");
    }

    private static Path tokenizerSource(Path model) {
        return Files.isDirectory(model) ? model.resolve("tokenizer.json") : model;
    }

    /** A tokenizer whose ids run past the model's embedding rows would fail mid-generation: refuse it at load. */
    private static void requireVocabularyFits(Model model, Path tokenizerFile, Tokenizer tokenizer) {
        int vocab = model.config().vocabSize();
        if (tokenizer.vocabSize() > vocab) {
            throw new FormatException(tokenizerFile, "the tokenizer has " + tokenizer.vocabSize() + " tokens but the model " + model.source()
                    + " has only " + vocab + " (vocab_size): they do not belong together");
        }
    }

    private static Model loadHf(Path dir, boolean checkWeights) {
        ModelConfig config = HfConfig.read(dir.resolve("config.json"));
        Map<String, TensorEntry> tensors = HfCheckpoint.tensors(dir);
        ModelWeights weights = WeightsLoader.fromTensors(config, tensors, dir, checkWeights);
        Tokenizer tokenizer = Tokenizers.fromHfDirectory(dir);
        SkipPolicy policy = FlexiDepthFiles.hasRouters(tensors) ? FlexiDepthFiles.fromHfDirectory(dir, config, tensors).forBase(weights)
                : BinaryRouters.present(Json.read(dir.resolve("config.json")), tensors) ? BinaryRouters.fromHfDirectory(dir, config, tensors)
                : SkipPolicy.NONE;
        return new Model(dir, "hf", new Transformer(config, weights), tokenizer, policy);
    }

    private static Model loadGguf(Path file, boolean checkWeights) {
        Gguf gguf = Gguf.open(file);
        GgufCheckpoint checkpoint = GgufCheckpoint.of(gguf);
        ModelWeights weights = WeightsLoader.fromTensors(checkpoint.config(), checkpoint.tensors(), file, checkWeights);
        return new Model(file, "gguf", new Transformer(checkpoint.config(), weights), Tokenizers.fromGguf(gguf), SkipPolicy.NONE);
    }

    /**
     * The same model with every weight matrix quantized to {@code target} (Q8_0 or Q4_0, round-to-nearest as
     * llama.cpp's reference quantizer) for {@code --quantize}; a matrix whose rows are not whole blocks stays as
     * it is. Tied embeddings stay tied.
     */
    public static Model quantize(Model model, DType target) {
        return withMatrices(model, m -> m.dtype() == target || m.cols() % target.blockSize != 0 ? m : ColumnPanels.of(Quantizer.quantize(m, target)));
    }

    /**
     * The same model with every weight matrix replaced by {@code f(matrix)}; tied embeddings stay tied; a FlexiDepth
     * plug-in follows the new base dtype ({@link FlexiDepth#forBase}).
     */
    public static Model withMatrices(Model model, UnaryOperator<Matrix> f) {
        return withMatrices(model, f, f);
    }

    /** As {@link #withMatrices(Model, UnaryOperator)}, with mixture-of-experts matrices replaced by {@code experts}. */
    public static Model withMatrices(Model model, UnaryOperator<Matrix> f, UnaryOperator<Matrix> experts) {
        ModelWeights w = model.transformer().weights();
        UnaryOperator<Matrix> dense = m -> m == null ? null : f.apply(m);
        LayerWeights[] layers = new LayerWeights[w.layers().length];
        for (int i = 0; i < layers.length; i++) {
            LayerWeights l = w.layers()[i];
            layers[i] = new LayerWeights(l.attnNorm(), f.apply(l.wq()), f.apply(l.wk()), f.apply(l.wv()), f.apply(l.wo()), l.bq(), l.bk(), l.bv(),
                    l.qNorm(), l.kNorm(), l.ffnNorm(), dense.apply(l.wGate()), dense.apply(l.wUp()), dense.apply(l.wDown()), l.postNorms(),
                    l.experts() == null ? null : l.experts().map(experts));
        }
        Matrix embedding = f.apply(w.embedding());
        Matrix head = w.lmHead() == w.embedding() ? embedding : f.apply(w.lmHead());
        ModelWeights mapped = new ModelWeights(embedding, layers, w.finalNorm(), head);
        SkipPolicy policy = model.defaultPolicy() instanceof FlexiDepth fd ? fd.forBase(mapped) : model.defaultPolicy();
        return new Model(model.source(), model.format(), new Transformer(model.config(), mapped), model.tokenizer(), policy);
    }

    /** A llama2.c checkpoint carries no tokenizer: the model's tokenizer is null until one is given. */
    private static Model loadLlama2c(Path file, boolean checkWeights) {
        Llama2cCheckpoint checkpoint = Llama2cCheckpoint.open(file);
        ModelWeights weights = WeightsLoader.fromTensors(checkpoint.config(), checkpoint.tensors(), file, checkWeights);
        return new Model(file, "llama2c", new Transformer(checkpoint.config(), weights), null, SkipPolicy.NONE);
    }
}
