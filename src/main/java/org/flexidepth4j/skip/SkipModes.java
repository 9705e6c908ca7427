package org.flexidepth4j.skip;

import java.nio.file.Path;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;

/**
 * Turns a --skip mode string into a policy for a loaded model, so every command accepts the same modes:
 * <ul>
 * <li>{@code default}: the policy the model's files carry (its FlexiDepth plug-in when present, else dense);</li>
 * <li>{@code none} (or {@code dense}): every layer runs;</li>
 * <li>{@code flexidepth} or {@code flexidepth:T}: the model's FlexiDepth plug-in, threshold T (default 0.5);</li>
 * <li>{@code static:K}: ShortGPT removal of the K layers of lowest Block Influence on the calibration ids;</li>
 * <li>{@code random:P}: each routed layer skipped per token with probability P (routed = the plug-in's layers, or
 *     the latter half without one);</li>
 * <li>{@code exit:L}: only the first L layers run;</li>
 * <li>{@code forced:P}: FlexiDepth arithmetic (router + adapter) with a seeded skip decision of rate P, on the
 *     model's plug-in or, without one, a random-init plug-in on the latter half (for speed benchmarks).</li>
 * </ul>
 */
public final class SkipModes {
    public static final String USAGE = "default|flexidepth[:T]|none|static:K|random:P|exit:L|forced:P";
    /** Std of the random plug-in behind forced:P on a model without one. */
    static final double FORCED_INIT_STD = 0.02;

    private SkipModes() {
    }

    /**
     * @param calibrationIds token ids for static:K (may be null for other modes)
     * @param seed           draws of random:P and forced:P, and forced:P's random plug-in
     */
    public static SkipPolicy parse(String mode, Model model, int[] calibrationIds, long seed) {
        String m = mode.trim().toLowerCase(java.util.Locale.ROOT);
        int colon = m.indexOf(':');
        String name = colon < 0 ? m : m.substring(0, colon);
        String arg = colon < 0 ? null : m.substring(colon + 1);
        int layers = model.config().numLayers();
        FlexiDepth plugin = model.defaultPolicy() instanceof FlexiDepth fd ? fd : null;
        return switch (name) {
            case "default" -> {
                noArgument(mode, arg);
                yield model.defaultPolicy();
            }
            case "none", "dense" -> {
                noArgument(mode, arg);
                yield SkipPolicy.NONE;
            }
            case "flexidepth" -> {
                if (plugin == null) throw new IllegalArgumentException("--skip " + mode + ": the model has no FlexiDepth routers (load a FlexiDepth checkpoint or give --adapters)");
                yield arg == null ? plugin : plugin.withThreshold(number(mode, arg));
            }
            case "static" -> {
                if (calibrationIds == null || calibrationIds.length == 0) throw new IllegalArgumentException("--skip " + mode + " needs a calibration text");
                yield StaticRemoval.byBlockInfluence(model.transformer(), calibrationIds, integer(mode, arg));
            }
            case "random" -> RandomSkip.onLayers(layers, plugin != null ? plugin.routedLayers() : FlexiDepth.latterHalf(layers), number(mode, arg), seed);
            case "exit" -> new EarlyExit(integer(mode, arg), layers);
            case "forced" -> {
                double rate = number(mode, arg);
                if (!(rate >= 0 && rate <= 1)) throw new IllegalArgumentException("--skip " + mode + ": P must be in [0, 1]");
                int factor = FlexiDepth.DEFAULT_REDUCTION_FACTOR;
                FlexiDepth base = plugin != null ? plugin
                        : FlexiDepthTensor.randomInit(model.config(), FlexiDepth.latterHalf(layers), factor, factor, seed, FORCED_INIT_STD).forBase(model.transformer().weights());
                yield new ForcedSkip(base, rate, seed);
            }
            default -> throw new IllegalArgumentException("unknown --skip mode '" + mode + "' (expected " + USAGE + ")");
        };
    }

    /** The model with the FlexiDepth plug-in (routers and adapters) of {@code file}, stored in the base's dtype. */
    public static Model withAdapters(Model model, Path file) {
        return model.withPolicy(FlexiDepthFiles.loadFor(file, model.transformer()));
    }

    private static void noArgument(String mode, String arg) {
        if (arg != null) throw new IllegalArgumentException("--skip " + mode + " takes no argument");
    }

    private static double number(String mode, String arg) {
        if (arg == null) throw new IllegalArgumentException("--skip " + mode + " needs a number after ':'");
        try {
            double v = Double.parseDouble(arg);
            if (Double.isFinite(v)) return v;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--skip " + mode + ": '" + arg + "' is not a number");
    }

    private static int integer(String mode, String arg) {
        if (arg == null) throw new IllegalArgumentException("--skip " + mode + " needs an integer after ':'");
        try {
            return Integer.parseInt(arg);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--skip " + mode + ": '" + arg + "' is not an integer");
        }
    }
}
