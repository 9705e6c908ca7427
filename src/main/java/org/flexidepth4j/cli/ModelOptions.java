package org.flexidepth4j.cli;

import java.nio.file.Path;
import org.flexidepth4j.load.EmbeddedModel;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.skip.SkipModes;
import org.flexidepth4j.tensor.DType;
import picocli.CommandLine.Option;

/** Model selection shared by every command (a picocli mixin): which model, tokenizer, plug-in, skip mode, context. */
public final class ModelOptions {
    @Option(names = "--model", paramLabel = "PATH",
            description = "HF directory, .gguf file or llama2.c .bin (default: the embedded " + EmbeddedModel.NAME + ")")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "tokenizer to use instead of the model's own (e.g. llama2.c tokenizer.bin)")
    Path tokenizer;

    @Option(names = "--adapters", paramLabel = "FILE", description = "FlexiDepth routers and adapters (.safetensors) to plug into the model")
    Path adapters;

    @Option(names = "--skip", paramLabel = "MODE", defaultValue = "default",
            description = "layer skipping: " + SkipModes.USAGE + " (default: the model's own FlexiDepth plug-in, if any)")
    String skip;

    @Option(names = "--skip-seed", paramLabel = "S", defaultValue = "0", description = "seed of --skip random:P and forced:P (default: ${DEFAULT-VALUE})")
    long skipSeed;

    @Option(names = "--calibration", paramLabel = "TEXT_FILE", description = "calibration text for --skip static:K")
    Path calibration;

    @Option(names = "--quantize", paramLabel = "TYPE", description = "quantize the weights on load: q8_0 or q4_0")
    String quantize;

    @Option(names = "--no-weight-check", description = "skip the load-time scan of every weight for NaN and infinity (trusted files only)")
    boolean noWeightCheck;

    @Option(names = "--context", paramLabel = "N", description = "context length in tokens (default: the model's maximum)")
    Integer context;

    /** Loads the model (the embedded one when no --model), with the plug-in from --adapters if given. */
    public Model load() {
        Path path = model != null ? model : EmbeddedModel.directory();
        Model m = ModelLoader.load(path, tokenizer, !noWeightCheck);
        if (quantize != null) {
            DType target = switch (quantize.toLowerCase(java.util.Locale.ROOT)) {
                case "q8_0" -> DType.Q8_0;
                case "q4_0" -> DType.Q4_0;
                default -> throw new IllegalArgumentException("--quantize " + quantize + ": expected q8_0 or q4_0");
            };
            m = ModelLoader.quantize(m, target);
        }
        if (adapters != null) m = SkipModes.withAdapters(m, adapters);
        return m;
    }

    public SkipPolicy policy(Model m) {
        int[] calibrationIds = calibration == null ? null : m.requireTokenizer().encodeWithSpecial(TextFiles.read(calibration));
        return SkipModes.parse(skip, m, calibrationIds, skipSeed);
    }

    /** The context length to use: --context, at most the model's maximum positions. */
    public int contextLength(Model m) {
        int max = m.config().maxPositions();
        if (context == null) return max;
        if (context < 1) throw new IllegalArgumentException("--context must be >= 1, got " + context);
        if (context > max) throw new IllegalArgumentException("--context " + context + " exceeds the model's maximum of " + max + " positions");
        return context;
    }
}
