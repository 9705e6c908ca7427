package org.flexidepth4j.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.io.SafeTensorsWriter;
import org.flexidepth4j.io.TensorEntry;

/**
 * A resumable training state in ONE safetensors file, written atomically (temp file + rename), so a kill at any
 * moment leaves either the previous checkpoint or the new one: trainable values ({@code param.<name>}), AdamW moments
 * ({@code adam_m.<name>}, {@code adam_v.<name>}) of one or more optimizers (pretraining has two: base and routers)
 * and, as metadata, the step, each optimizer's step count (comma-separated, in the order given) and the data
 * position (epoch, index in the epoch's seeded order; the order itself is recomputed from the seed).
 */
public record Checkpoint(int step, int epoch, int position, long seed) {
    public static final String FILE = "checkpoint.safetensors";

    /** Saves every optimizer's tensors and moments (their tensor names must be distinct) and their step counts. */
    public void save(Path file, AdamW... optimizers) {
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (AdamW adam : optimizers) {
            List<Param> params = adam.params();
            for (int i = 0; i < params.size(); i++) {
                Param p = params.get(i);
                w.addF32("param." + p.name(), p.value(), p.size());
                w.addF32("adam_m." + p.name(), adam.m[i], p.size());
                w.addF32("adam_v." + p.name(), adam.v[i], p.size());
            }
        }
        w.metadata("step", Integer.toString(step)).metadata("epoch", Integer.toString(epoch))
                .metadata("position", Integer.toString(position)).metadata("seed", Long.toString(seed))
                .metadata("adam_step", String.join(",", Arrays.stream(optimizers).map(a -> Long.toString(a.step)).toList())).write(file);
    }

    /** {@code path} is a checkpoint file or a training output directory holding one. */
    public static Path locate(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve(FILE) : path;
        if (!Files.isRegularFile(file)) throw new FormatException(path, "no " + FILE + " to resume from");
        return file;
    }

    /** Restores values, moments and step counts into the optimizers' tensors (which must match by name and size). */
    public static Checkpoint load(Path file, AdamW... optimizers) {
        SafeTensors st = SafeTensors.open(file);
        Map<String, TensorEntry> t = st.tensors();
        int trained = 0;
        for (AdamW adam : optimizers) {
            List<Param> params = adam.params();
            for (int i = 0; i < params.size(); i++) {
                Param p = params.get(i);
                copy(file, t, "param." + p.name(), p.value());
                copy(file, t, "adam_m." + p.name(), adam.m[i]);
                copy(file, t, "adam_v." + p.name(), adam.v[i]);
            }
            trained += params.size();
        }
        if (t.size() != 3 * trained) throw new FormatException(file, "holds " + t.size() / 3 + " trained tensors, this run trains " + trained);
        Map<String, String> m = st.metadata();
        try {
            String[] steps = m.getOrDefault("adam_step", "").split(",");
            if (steps.length != optimizers.length) throw new FormatException(file, "holds the state of " + steps.length + " optimizer(s), this run has " + optimizers.length);
            for (int i = 0; i < optimizers.length; i++) optimizers[i].step = Long.parseLong(steps[i]);
            return new Checkpoint(Integer.parseInt(m.get("step")), Integer.parseInt(m.get("epoch")),
                    Integer.parseInt(m.get("position")), Long.parseLong(m.get("seed")));
        } catch (NumberFormatException e) {
            throw new FormatException(file, "missing or bad training state in the metadata");
        }
    }

    private static void copy(Path file, Map<String, TensorEntry> t, String name, float[] dst) {
        TensorEntry e = t.get(name);
        if (e == null) throw new FormatException(file, "tensor " + name + " is missing (checkpoint of a different run?)");
        if (e.elementCount() != dst.length) throw new FormatException(file, "tensor " + name + " has " + e.elementCount() + " values, expected " + dst.length);
        System.arraycopy(e.toFloats(), 0, dst, 0, dst.length);
    }
}
