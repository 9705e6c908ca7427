package org.flexidepth4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.flexidepth4j.eval.Frontier;
import org.flexidepth4j.load.EmbeddedModel;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "frontier", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Held-out NLL vs mean layers skipped: FlexiDepth plug-ins against random skipping at the same skip "
                + "and static removal of 1..K layers (frontier.json, frontier.md, frontier.png).")
public final class FrontierCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "PATH", description = "base model (default: the embedded " + EmbeddedModel.NAME + ")")
    Path model;

    @Option(names = "--plugins", required = true, arity = "1..*", paramLabel = "FILE", description = "FlexiDepth plug-ins (.safetensors), one point each")
    List<Path> plugins;

    @Option(names = "--file", required = true, paramLabel = "TEXT_FILE", description = "held-out UTF-8 text")
    Path file;

    @Option(names = "--calibration", paramLabel = "TEXT_FILE", description = "calibration text of static removal (without it: no static rows)")
    Path calibration;

    @Option(names = "--static-max", paramLabel = "K", description = "static removal of 1..K layers (default: half the layers)")
    Integer staticMax;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "256", description = "sliding window in tokens, stride half of it (default: ${DEFAULT-VALUE})")
    int window;

    @Option(names = "--skip-seed", paramLabel = "S", defaultValue = "0", description = "seed of the random-skip draws (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory")
    Path out;

    @Override
    public Integer call() throws Exception {
        Model base = ModelLoader.load(model != null ? model : EmbeddedModel.directory());
        if (window < 2 || window > base.config().maxPositions()) {
            throw new IllegalArgumentException("--max-tokens must be in [2, " + base.config().maxPositions() + "], got " + window);
        }
        int[] heldOut = base.requireTokenizer().encodeWithSpecial(TextFiles.read(file));
        int[] calibrationIds = calibration == null ? null : base.requireTokenizer().encodeWithSpecial(TextFiles.read(calibration));
        PrintWriter err = spec.commandLine().getErr();
        int maxStatic = staticMax != null ? staticMax : base.config().numLayers() / 2;
        List<Frontier.Point> points = Frontier.run(new Frontier.Config(base, plugins, heldOut, calibrationIds, window,
                Math.min(maxStatic, base.config().numLayers() - 1), seed), line -> {
            err.println(line);
            err.flush();
        });
        Files.createDirectories(out);
        Frontier.write(out, points, file.getFileName().toString());
        PrintWriter w = spec.commandLine().getOut();
        w.print(Frontier.markdown(points));
        w.printf("wrote %s%n", out);
        w.flush();
        return 0;
    }
}
