package org.flexidepth4j.load;

import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.flexidepth4j.io.SafeTensorsWriter;

/** What {@link GemmaCheckpoints} and {@link PhiCheckpoints} share: random values, tensor tables, HF file, GGUF names. */
final class RandomCheckpoints {
    private RandomCheckpoints() {
    }

    static float[] normal(long seed, int n, double std) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (std * random.nextGaussian());
        return v;
    }

    static void add(Map<String, float[]> t, Map<String, long[]> shapes, String name, float[] values, long... shape) {
        t.put(name, values);
        shapes.put(name, shape);
    }

    static void writeSafetensors(Map<String, float[]> t, Map<String, long[]> shapes, Path file) {
        SafeTensorsWriter w = new SafeTensorsWriter();
        t.forEach((name, values) -> w.addF32(name, values, shapes.get(name)));
        w.write(file);
    }

    /** llama.cpp's name of an HF tensor; {@code layerNames} maps the per-layer suffixes after "model.layers.N.". */
    static String ggufName(String hf, Map<String, String> layerNames) {
        switch (hf) {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
            default:
        }
        String rest = hf.substring("model.layers.".length());
        int dot = rest.indexOf('.');
        String suffix = layerNames.get(rest.substring(dot + 1));
        if (suffix == null) throw new IllegalArgumentException(hf);
        return "blk." + rest.substring(0, dot) + "." + suffix;
    }
}
