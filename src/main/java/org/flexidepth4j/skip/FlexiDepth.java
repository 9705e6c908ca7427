package org.flexidepth4j.skip;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.io.SafeTensorsWriter;
import org.flexidepth4j.io.TensorEntry;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.NonFiniteException;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.model.ModelWeights;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.WorkCounter;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.F32Matrix;
import org.flexidepth4j.tensor.Matrix;
import org.flexidepth4j.tensor.Quantizer;
import org.flexidepth4j.tensor.VectorOps;

/**
 * FlexiDepth as a plug-in on a frozen base model: a router and an adapter on each routed layer. A token runs the
 * layer when its gate is above the threshold (strict '>'); a skipped token gets only K/V (done by the transformer),
 * the router and (1 - g) * Adapter(y). Layers without a router stay dense.
 */
public final class FlexiDepth implements SkipPolicy {
    public static final int DEFAULT_REDUCTION_FACTOR = 16;
    public static final double DEFAULT_THRESHOLD = 0.5;
    private static final Pattern ROUTER_TENSOR = Pattern.compile("model\\.layers\\.(\\d+)\\.(router|router_proj)\\..*");

    private final ModelConfig config;
    private final FlexiDepthRouter[] routers;
    private final FlexiDepthAdapter[] adapters;
    private final int routerReductionFactor;
    private final int projReductionFactor;
    private final double threshold;
    /** When in [0, 1]: the run/skip decision is a seeded draw with this skip probability instead of the threshold. */
    private final double forcedSkipRate;
    private final long forcedSeed;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    /** routers[l] and adapters[l] are both null (dense layer) or both set (routed layer). */
    public FlexiDepth(ModelConfig config, FlexiDepthRouter[] routers, FlexiDepthAdapter[] adapters, int routerReductionFactor, int projReductionFactor) {
        this(config, routers, adapters, routerReductionFactor, projReductionFactor, DEFAULT_THRESHOLD, -1, 0);
    }

    private FlexiDepth(ModelConfig config, FlexiDepthRouter[] routers, FlexiDepthAdapter[] adapters, int routerReductionFactor,
                       int projReductionFactor, double threshold, double forcedSkipRate, long forcedSeed) {
        if (routers.length != config.numLayers() || adapters.length != config.numLayers()) {
            throw new IllegalArgumentException("expected routers and adapters for " + config.numLayers() + " layers");
        }
        for (int l = 0; l < routers.length; l++) {
            if ((routers[l] == null) != (adapters[l] == null)) throw new IllegalArgumentException("layer " + l + " has a router without an adapter or the reverse");
        }
        this.config = config;
        this.routers = routers;
        this.adapters = adapters;
        this.routerReductionFactor = routerReductionFactor;
        this.projReductionFactor = projReductionFactor;
        this.threshold = threshold;
        this.forcedSkipRate = forcedSkipRate;
        this.forcedSeed = forcedSeed;
    }

    /** The same plug-in deciding run iff gate > {@code threshold}. */
    public FlexiDepth withThreshold(double threshold) {
        if (!(threshold >= 0 && threshold <= 1)) throw new IllegalArgumentException("threshold " + threshold + " is outside [0, 1]");
        return new FlexiDepth(config, routers, adapters, routerReductionFactor, projReductionFactor, threshold, -1, 0);
    }

    /**
     * For benchmarks: the same plug-in, still computing router and adapter, but each (routed layer, token position)
     * skipped with probability {@code skipRate} by a seeded draw instead of the threshold, so the skip rate is known.
     */
    public FlexiDepth withForcedSkipRate(double skipRate, long seed) {
        if (!(skipRate >= 0 && skipRate <= 1)) throw new IllegalArgumentException("skip rate " + skipRate + " is outside [0, 1]");
        return new FlexiDepth(config, routers, adapters, routerReductionFactor, projReductionFactor, threshold, skipRate, seed);
    }

    /**
     * The same plug-in with its projections stored in the dtype its base model streams: F32 on an F32 base, else
     * BF16 (half the bytes, F32's range). A skipped token's cost is mostly reading these weights, so an F32 plug-in
     * on a BF16 base would read twice the bytes its FLOPs suggest. Quantized bases still get BF16: the router's
     * decisions are thresholds, and block quantization of its small matrices could flip them.
     */
    public FlexiDepth forBase(ModelWeights base) {
        DType dtype = base.layers()[0].wGate().dtype() == DType.F32 ? DType.F32 : DType.BF16;
        FlexiDepthRouter[] r = new FlexiDepthRouter[routers.length];
        FlexiDepthAdapter[] a = new FlexiDepthAdapter[adapters.length];
        for (int l : routedLayers()) {
            r[l] = routers[l].storedAs(dtype);
            a[l] = adapters[l].storedAs(dtype);
        }
        return new FlexiDepth(config, r, a, routerReductionFactor, projReductionFactor, threshold, forcedSkipRate, forcedSeed);
    }

    /** {@code m} in {@code dtype}: itself when already so, else a rounded copy. */
    static Matrix stored(Matrix m, DType dtype) {
        return m.dtype() == dtype ? m : Quantizer.quantize(m, dtype);
    }

    public ModelConfig config() {
        return config;
    }

    public double threshold() {
        return threshold;
    }

    public int routerReductionFactor() {
        return routerReductionFactor;
    }

    public int projReductionFactor() {
        return projReductionFactor;
    }

    /** Router of layer l, null when the layer is not routed. */
    public FlexiDepthRouter router(int layer) {
        return routers[layer];
    }

    public FlexiDepthAdapter adapter(int layer) {
        return adapters[layer];
    }

    public int[] routedLayers() {
        return java.util.stream.IntStream.range(0, routers.length).filter(l -> routers[l] != null).toArray();
    }

    @Override
    public Plan plan(int layer) {
        return routers[layer] != null ? Plan.ROUTED : Plan.DENSE;
    }

    @Override
    public void route(int layer, float[] normed, int tokens, int[] positions, boolean[] run, float[] gate, WorkCounter work) {
        FlexiDepthRouter router = routers[layer];
        Scratch s = scratch.get().ensure(tokens, config.hiddenSize(), router.reducedSize());
        router.gates(normed, tokens, config.rmsNormEps(), s.a, s.wide, gate);
        NonFiniteException.check(gate, 0, tokens, "the FlexiDepth router gates of layer " + layer);
        work.add(layer, tokens * router.multiplyAddsPerToken(), router.byteSize());
        for (int t = 0; t < tokens; t++) {
            run[t] = forcedSkipRate >= 0 ? TokenDraw.uniform(forcedSeed, layer, positions[t]) >= forcedSkipRate : gate[t] > threshold;
        }
    }

    @Override
    public boolean hasSkipPath(int layer) {
        return adapters[layer] != null;
    }

    @Override
    public void addSkipPath(int layer, float[] y, int n, float[] gates, int[] rowIndex, float[] residual, WorkCounter work) {
        FlexiDepthAdapter adapter = adapters[layer];
        int d = config.hiddenSize();
        Scratch s = scratch.get().ensure(n, d, adapter.intermediateSize());
        adapter.forward(y, n, s.a, s.b, s.wide);
        for (int i = 0; i < n; i++) VectorOps.axpy(1f - gates[i], s.wide, i * d, residual, rowIndex[i] * d, d);
        work.add(layer, n * adapter.multiplyAddsPerToken(), adapter.byteSize());
    }

    // ---- loading and saving ----

    /** Whether a tensor map holds FlexiDepth routers in the released naming. */
    public static boolean hasRouters(Map<String, TensorEntry> tensors) {
        return tensors.keySet().stream().anyMatch(n -> ROUTER_TENSOR.matcher(n).matches());
    }

    /** The plug-in inside a merged HF directory; the reduction factors come from its config.json. */
    public static FlexiDepth fromHfDirectory(Path dir, ModelConfig config, Map<String, TensorEntry> tensors) {
        Path file = dir.resolve("config.json");
        JsonNode c = Json.read(file);
        int router = factor(file, c.get("router_reduction_factor"), "router_reduction_factor", DEFAULT_REDUCTION_FACTOR);
        int proj = factor(file, c.get("proj_reduction_factor"), "proj_reduction_factor", router);
        return fromTensors(config, tensors, dir, router, proj);
    }

    /** A plug-in file for {@code base} as every command uses it: loaded, checked, stored in the base's dtype ({@link #forBase}). */
    public static FlexiDepth loadFor(Path adaptersFile, Transformer base) {
        return load(adaptersFile, base.config()).forBase(base.weights());
    }

    /** A separate plug-in file (--adapters) for a base model; the factors come from its metadata, default 16. */
    public static FlexiDepth load(Path adaptersFile, ModelConfig config) {
        if (!Files.exists(adaptersFile)) throw new FormatException(adaptersFile, "file not found");
        SafeTensors st = SafeTensors.open(adaptersFile);
        Map<String, String> meta = st.metadata();
        int router = factor(adaptersFile, meta.get("router_reduction_factor"), "router_reduction_factor", DEFAULT_REDUCTION_FACTOR);
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
        int r = d / routerReductionFactor, m = config.intermediateSize() / projReductionFactor;
        if (r < 1 || m < 1) throw new FormatException(source, "reduction factors " + routerReductionFactor + "/" + projReductionFactor + " leave no router or adapter width");
        TreeSet<Integer> routed = new TreeSet<>();
        for (String name : tensors.keySet()) {
            Matcher match = ROUTER_TENSOR.matcher(name);
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
        FlexiDepthRouter[] routers = new FlexiDepthRouter[config.numLayers()];
        FlexiDepthAdapter[] adapters = new FlexiDepthAdapter[config.numLayers()];
        for (int l : routed) {
            String p = "model.layers." + l + ".";
            float[] norm = tensor(tensors, source, p + "router.router_norm.weight", r).toFloats();
            for (float f : norm) if (!Float.isFinite(f)) throw new FormatException(source, "tensor " + p + "router.router_norm.weight contains NaN or infinity");
            routers[l] = new FlexiDepthRouter(
                    tensor(tensors, source, p + "router.router_enc.weight", r, d).asMatrix(), norm,
                    tensor(tensors, source, p + "router.router_dec.weight", d, r).asMatrix(),
                    tensor(tensors, source, p + "router.router_head.weight", 1, d).asMatrix());
            adapters[l] = new FlexiDepthAdapter(
                    tensor(tensors, source, p + "router_proj.gate_proj.weight", m, d).asMatrix(),
                    tensor(tensors, source, p + "router_proj.down_proj.weight", m, d).asMatrix(),
                    tensor(tensors, source, p + "router_proj.up_proj.weight", d, m).asMatrix());
        }
        return new FlexiDepth(config, routers, adapters, routerReductionFactor, projReductionFactor);
    }

    /** Writes the plug-in (F32, released naming, factors and routed layers in the metadata), atomically. */
    public void save(Path file) {
        SafeTensorsWriter w = new SafeTensorsWriter()
                .metadata("format", "pt")
                .metadata("router_reduction_factor", Integer.toString(routerReductionFactor))
                .metadata("proj_reduction_factor", Integer.toString(projReductionFactor))
                .metadata("routed_layers", joined(routedLayers()));
        for (int l : routedLayers()) {
            String p = "model.layers." + l + ".";
            FlexiDepthRouter r = routers[l];
            FlexiDepthAdapter a = adapters[l];
            addMatrix(w, p + "router.router_enc.weight", r.enc());
            w.addF32(p + "router.router_norm.weight", r.norm().clone(), r.norm().length);
            addMatrix(w, p + "router.router_dec.weight", r.dec());
            addMatrix(w, p + "router.router_head.weight", r.head());
            addMatrix(w, p + "router_proj.gate_proj.weight", a.gateProj());
            addMatrix(w, p + "router_proj.down_proj.weight", a.downProj());
            addMatrix(w, p + "router_proj.up_proj.weight", a.upProj());
        }
        w.write(file);
    }

    /**
     * A fresh plug-in on {@code routedLayers}: every projection drawn from N(0, std^2), router norm weights 1, F32
     * heap matrices (the trainer updates them in place), reduction factors 16.
     */
    public static FlexiDepth randomInit(ModelConfig config, int[] routedLayers, long seed, double std) {
        int d = config.hiddenSize();
        int r = d / DEFAULT_REDUCTION_FACTOR, m = config.intermediateSize() / DEFAULT_REDUCTION_FACTOR;
        if (r < 1 || m < 1) throw new IllegalArgumentException("model too narrow for reduction factor " + DEFAULT_REDUCTION_FACTOR);
        Random random = new Random(seed);
        FlexiDepthRouter[] routers = new FlexiDepthRouter[config.numLayers()];
        FlexiDepthAdapter[] adapters = new FlexiDepthAdapter[config.numLayers()];
        for (int l : routedLayers) {
            if (l < 0 || l >= config.numLayers()) throw new IllegalArgumentException("routed layer " + l + " is outside 0.." + (config.numLayers() - 1));
            float[] norm = new float[r];
            Arrays.fill(norm, 1f);
            routers[l] = new FlexiDepthRouter(gaussian(random, r, d, std), norm, gaussian(random, d, r, std), gaussian(random, 1, d, std));
            adapters[l] = new FlexiDepthAdapter(gaussian(random, m, d, std), gaussian(random, m, d, std), gaussian(random, d, m, std));
        }
        return new FlexiDepth(config, routers, adapters, DEFAULT_REDUCTION_FACTOR, DEFAULT_REDUCTION_FACTOR);
    }

    /** The latter half of the layers, FlexiDepth's default routed set. */
    public static int[] latterHalf(int numLayers) {
        return java.util.stream.IntStream.range(numLayers / 2, numLayers).toArray();
    }

    private static F32Matrix gaussian(Random random, int rows, int cols, double std) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = (float) (random.nextGaussian() * std);
        return F32Matrix.of(v, rows, cols);
    }

    private static void addMatrix(SafeTensorsWriter w, String name, Matrix m) {
        float[] v = new float[m.rows() * m.cols()];
        for (int row = 0; row < m.rows(); row++) m.readRow(row, v, row * m.cols());
        w.addF32(name, v, m.rows(), m.cols());
    }

    private static TensorEntry tensor(Map<String, TensorEntry> tensors, Path source, String name, long... shape) {
        TensorEntry e = tensors.get(name);
        if (e == null) throw new FormatException(source, "tensor " + name + " is missing");
        return e.expectShape(shape);
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

    /** Per-thread scratch, grown to the largest batch seen (one policy may serve several sequences at once). */
    private static final class Scratch {
        float[] a = new float[0], b = new float[0], wide = new float[0];

        Scratch ensure(int rows, int d, int narrow) {
            if (a.length < rows * narrow) {
                a = new float[rows * narrow];
                b = new float[rows * narrow];
            }
            if (wide.length < rows * d) wide = new float[rows * d];
            return this;
        }
    }
}
