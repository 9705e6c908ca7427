package org.flexidepth4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.flexidepth4j.io.SafeTensorsWriter;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.Transformer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "logits", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Write logits and gates of a full causal forward over the given ids (.safetensors): "
                + "logits F32 [T, V], gates F32 [L, T] (-1 for layers not routed), ids I32 [T].")
public final class LogitsCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--ids", required = true, paramLabel = "IDS", split = ",", description = "comma-separated token ids, run exactly as given")
    int[] ids;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "output .safetensors file (written atomically)")
    Path out;

    @Override
    public Integer call() {
        Model model = modelOptions.load();
        int context = modelOptions.contextLength(model);
        if (ids.length > context) throw new IllegalArgumentException(ids.length + " ids exceed the context length of " + context);
        Transformer tf = model.transformer();
        int t = ids.length, v = model.config().vocabSize(), layers = model.config().numLayers();
        InferenceState state = tf.newState(t);
        tf.forward(state, ids, 0, t, modelOptions.policy(model), true);
        float[] logits = java.util.Arrays.copyOf(state.logits(), t * v);
        float[] gates = new float[layers * t];
        for (int l = 0; l < layers; l++) for (int i = 0; i < t; i++) gates[l * t + i] = state.gate(l, i);
        new SafeTensorsWriter()
                .addF32("logits", logits, t, v)
                .addF32("gates", gates, layers, t)
                .addI32("ids", ids, t)
                .write(out);
        return 0;
    }
}
