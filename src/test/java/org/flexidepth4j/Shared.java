package org.flexidepth4j;

import java.nio.file.Files;
import java.nio.file.Path;

/** Paths into ../shared, the fixtures and models every developer machine and CI run has beside the project. */
public final class Shared {
    public static final Path ROOT = locate();

    private Shared() {
    }

    private static Path locate() {
        Path p = Path.of("").toAbsolutePath();
        for (int i = 0; i < 4 && p != null; i++, p = p.getParent()) {
            Path candidate = p.resolveSibling("shared");
            if (Files.isDirectory(candidate.resolve("fixtures"))) return candidate;
        }
        throw new IllegalStateException("../shared not found beside the project");
    }

    public static Path path(String relative) {
        return ROOT.resolve(relative);
    }
}
