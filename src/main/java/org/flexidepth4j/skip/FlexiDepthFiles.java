package org.flexidepth4j.skip;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.io.SafeTensorsWriter;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.tensor.F32Matrix;
import org.flexidepth4j.tensor.Matrix;

/**
 * Reading and writing FlexiDepth plug-ins: a separate {@code --adapters} file (float32, released naming, reduction
 * factors and routed layers in the metadata) or the router tensors inside a merged HF directory. Shapes are checked
 * against the base model's config.
 */
public final class FlexiDepthFiles {
    private FlexiDepthFiles() {
    }

    /** Whether a tensor map holds FlexiDepth routers in the released naming. */
    public static boolean hasRouters(Map<String, TensorEntry> tensors) {
        return tensors.keySet().stream().anyMatch(n -> FlexiDepthTensor.ANY.matcher(n).matches());
    }

    /** The plug-in inside a merged HF directory; the reduction factors come from its config.json. */
    public static FlexiDepth fromHfDirectory(Path dir, ModelConfig config, Map<String, TensorEntry> tensors) {
        Path file = dir.resolve("config.json");
        JsonNode c = Json.read(file);
        int router = factor(file, c.get("router_reduction_factor"), "router_reduction_factor", FlexiDepth.DEFAULT_REDUCTION_FACTOR);
        int proj = factor(file, c.get("proj_reduction_factor"), "proj_reduction_factor", router);
        return fromTensors(config, tensors, dir, router, proj);
    }

    /** A plug-in file for {@code base} as every command uses it: loaded, checked, stored in the base's dtype ({@link FlexiDepth#forBase}). */
    public static FlexiDepth loadFor(Path adaptersFile, Transformer base) {
        return load(adaptersFile, base.config()).forBase(base.weights());
    }

    /** A separate plug-in file (--adapters) for a base model; the factors come from its metadata, default 16. */
    public static FlexiDepth load(Path adaptersFile, ModelConfig config) {
        if (!Files.exists(adaptersFile)) throw new FormatException(adaptersFile, "file not found");
        SafeTensors st = SafeTensors.open(adaptersFile);
        Map<String, String> meta = st.metadata();
        int router = factor(adaptersFile, meta.get("router_reduction_factor"), "router_reduction_factor", FlexiDepth.DEFAULT_REDUCTION_FACTOR);
        int proj = factor(adaptersFile, meta.get("proj_reduction_factor"), "proj_reduction_factor", router);
        FlexiDepth fd = fromTensors(config, st.tensors(), adaptersFile, router, proj);
        String listed = meta.get("routed_layers");
        if (listed != null && !listed.equals(joined(fd.routedLayers()))) {
            throw new FormatException(adaptersFile, "metadata routed_layers '" + listed + "' does not match the tensors (" + joined(fd.routedLayers()) + ")");
        }
        return fd;
    }

    /** Routers and adapters of every layer that has router tensors, shapes checked against the config. */
    public static FlexiDepth fromTensors(ModelConfig config, Map<String, TensorEntry> tensors, Path source, int routerReductionFactor, int projReductionFactor) {
        int d = config.hiddenSize();
        int r = d / routerReductionFactor, a = config.intermediateSize() / projReductionFactor;
        if (r < 1 || a < 1) throw new FormatException(source, "reduction factors " + routerReductionFactor + "/" + projReductionFactor + " leave no router or adapter width");
        TreeSet<Integer> routed = new TreeSet<>();
        for (String name : tensors.keySet()) {
            Matcher match = FlexiDepthTensor.ANY.matcher(name);
            if (!match.matches()) continue;
            int layer;
            try {
                layer = Integer.parseInt(match.group(1));
            } catch (NumberFormatException e) {
                layer = Integer.MAX_VALUE;
            }
            if (layer >= config.numLayers()) throw new FormatException(source, "tensor " + name + " names layer " + match.group(1) + " but the model has " + config.numLayers() + " layers");
            routed.add(layer);
        }
        if (routed.isEmpty()) throw new FormatException(source, "no FlexiDepth router tensors (model.layers.N.router.*)");
        int[] layers = routed.stream().mapToInt(Integer::intValue).toArray();
        return FlexiDepthTensor.assemble(config, layers, routerReductionFactor, projReductionFactor, (t, l) -> {
            TensorEntry e = tensors.get(t.name(l));
            if (e == null) throw new FormatException(source, "tensor " + t.name(l) + " is missing");
            int rows = t.rows(d, r, a), cols = t.cols(d, r, a);
            if (!t.isVector()) return e.expectShape(rows, cols).asMatrix();
            float[] v = e.expectShape(cols).toFloats();
            for (float f : v) if (!Float.isFinite(f)) throw new FormatException(source, "tensor " + t.name(l) + " contains NaN or infinity");
            return F32Matrix.of(v, 1, cols);
        });
    }

    /** Writes the plug-in (F32, released naming, factors and routed layers in the metadata), atomically. */
    public static void save(FlexiDepth fd, Path file) {
        SafeTensorsWriter w = new SafeTensorsWriter()
                .metadata("format", "pt")
                .metadata("router_reduction_factor", Integer.toString(fd.routerReductionFactor()))
                .metadata("proj_reduction_factor", Integer.toString(fd.projReductionFactor()))
                .metadata("routed_layers", joined(fd.routedLayers()));
        for (int l : fd.routedLayers()) {
            for (FlexiDepthTensor t : FlexiDepthTensor.values()) {
                Matrix m = t.of(fd, l);
                float[] v = new float[m.rows() * m.cols()];
                for (int row = 0; row < m.rows(); row++) m.readRow(row, v, row * m.cols());
                if (t.isVector()) w.addF32(t.name(l), v, v.length);
                else w.addF32(t.name(l), v, m.rows(), m.cols());
            }
        }
        w.write(file);
    }

    private static int factor(Path file, Object value, String key, int fallback) {
        if (value == null || (value instanceof JsonNode n && n.isNull())) return fallback;
        String text = value instanceof JsonNode n ? (n.canConvertToInt() ? Integer.toString(n.asInt()) : n.toString()) : value.toString();
        try {
            int f = Integer.parseInt(text.trim());
            if (f > 0) return f;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new FormatException(file, key + " must be a positive integer, got " + text);
    }

    private static String joined(int[] layers) {
        return String.join(",", Arrays.stream(layers).mapToObj(Integer::toString).toList());
    }
}
