package org.flexidepth4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.flexidepth4j.api.Engine;
import org.flexidepth4j.load.EmbeddedModel;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.skip.BinaryRouters;
import org.flexidepth4j.skip.FlexiDepth;
import org.flexidepth4j.skip.MergedCheckpoint;
import org.flexidepth4j.skip.SkipModes;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Model selection shared by every command (a picocli mixin): which model, tokenizer, plug-in, skip mode, context. */
public final class ModelOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = {"-m", "--model"}, paramLabel = "PATH",
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

    /** The model (the embedded one when no --model) ready to generate, with the plug-in from --adapters if given. */
    public Engine engine() {
        Engine.Loader loader = loader();
        if (calibration != null) loader.calibration(TextFiles.read(calibration));
        return loader.load();
    }

    /** Loads the model (the embedded one when no --model), with the plug-in from --adapters if given. */
    public Model load() {
        return loader().load().model();
    }

    private Engine.Loader loader() {
        Engine.Loader loader = Engine.loader().model(model).tokenizer(tokenizer).adapters(adapters).onNotice(this::notice).weightCheck(!noWeightCheck);
        if (quantize != null) loader.quantize(quantize);
        if (context != null) loader.contextLength(context);
        return loader;
    }

    public SkipPolicy policy(Model m) {
        int[] calibrationIds = calibration == null ? null : m.requireTokenizer().encodeWithSpecial(TextFiles.read(calibration));
        return SkipModes.parse(skip, m, calibrationIds, skipSeed);
    }

    /**
     * The FlexiDepth (or Learning-to-Skip) plug-in file that {@code policy} routes with, for results and pages; null
     * when the policy uses none.
     */
    public String plugin(Model m, SkipPolicy policy) {
        if (!(policy instanceof FlexiDepth) && !(policy instanceof BinaryRouters)) return null;
        if (adapters != null) return adapters.toString();
        Path shard = m.source().resolve(MergedCheckpoint.PLUGIN_SHARD);
        if (model == null) return "embedded " + EmbeddedModel.NAME + " " + MergedCheckpoint.PLUGIN_SHARD;
        return Files.isRegularFile(shard) ? shard.toString() : m.source() + " (in the checkpoint)";
    }

    /**
     * One stderr line when the default skip mode routes with the model's own plug-in, for commands where a user
     * would expect the dense model (perplexity, eval).
     */
    public void noteRouting(Model m, SkipPolicy policy) {
        String plugin = skip.equals("default") ? plugin(m, policy) : null;
        if (plugin != null) {
            notice("routing with the model's own plug-in (" + plugin + "), as --skip default does; --skip none runs the dense model");
        }
    }

    private void notice(String message) {
        command.commandLine().getErr().println("flexidepth: " + message);
    }

    /** The context length to use: --context, at most the model's maximum positions. */
    public int contextLength(Model m) {
        return Engine.contextLength(m, context);
    }
}
