package org.flexidepth4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.skip.FlexiDepth;
import org.flexidepth4j.skip.FlexiDepthFiles;
import org.flexidepth4j.skip.MergedCheckpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "merge", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Writes a base HF model plus a FlexiDepth plug-in as one merged directory in the released layout "
                + "(extra shard flexidepth.safetensors, index, reduction factors in config.json).")
public final class MergeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "base HF model directory")
    Path model;

    @Option(names = "--adapters", required = true, paramLabel = "FILE", description = "FlexiDepth plug-in (.safetensors)")
    Path adapters;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "new output directory")
    Path out;

    @Override
    public Integer call() {
        Model base = ModelLoader.load(model);
        FlexiDepth plugin = FlexiDepthFiles.load(adapters, base.config()); // validates shapes against the base before writing
        MergedCheckpoint.write(model, adapters, out);
        spec.commandLine().getOut().printf("merged %s + %s (routed layers %s) into %s%n", model, adapters,
                java.util.Arrays.toString(plugin.routedLayers()), out);
        return 0;
    }
}
