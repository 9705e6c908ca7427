package org.flexidepth4j.cli;

import java.nio.file.Path;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.skip.FlexiDepth;

/** Where {@code --skip} and {@code --adapters} meet the skip package, so every command accepts the same modes. */
final class SkipModes {
    static final String USAGE = "default|" + org.flexidepth4j.skip.SkipModes.USAGE;

    private SkipModes() {
    }

    /** "default": the policy the model's files carry (FlexiDepth routers when present); else skip.SkipModes. */
    static SkipPolicy resolve(Model model, String mode, int[] calibrationIds, long seed) {
        if (mode.equals("default")) return model.defaultPolicy();
        return org.flexidepth4j.skip.SkipModes.parse(mode, model, calibrationIds, seed);
    }

    /** The model with the FlexiDepth plug-in (routers and adapters) of {@code file}, stored in the base's dtype. */
    static Model withAdapters(Model model, Path file) {
        return model.withPolicy(FlexiDepth.loadFor(file, model.transformer()));
    }
}
