package org.flexidepth4j.cli;

import java.nio.file.Path;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;

/**
 * Where {@code --skip} and {@code --adapters} meet the skip policies (package skip): the one place that maps a mode
 * name to a policy, so every command accepts the same modes.
 */
final class SkipModes {
    private SkipModes() {
    }

    /** "default": the policy the model's files carry (FlexiDepth routers when present); "none": every layer dense. */
    static SkipPolicy resolve(Model model, String mode) {
        return switch (mode) {
            case "default" -> model.defaultPolicy();
            case "none" -> SkipPolicy.NONE;
            default -> throw new IllegalArgumentException("skip mode '" + mode + "' is not available (available: default, none)");
        };
    }

    /** The model with a FlexiDepth plug-in (routers and adapters) loaded from {@code file}. */
    static Model withAdapters(Model model, Path file) {
        throw new IllegalArgumentException(file + ": FlexiDepth adapters are not available in this build");
    }
}
