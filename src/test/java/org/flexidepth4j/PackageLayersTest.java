package org.flexidepth4j;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The package graph of src/main, read from the sources: every reference to {@code org.flexidepth4j.<package>} (an
 * import, a fully qualified name or a javadoc link) must point to the same layer or one below it in {@link #LAYERS},
 * so the graph has no cycle and nothing imports upward. docs/DESIGN.md explains the order.
 */
class PackageLayersTest {
    /** Lowest first: a package may use only itself and the packages before it. */
    static final List<String> LAYERS = List.of("tensor", "io", "tokenizer", "model", "skip", "load", "train", "eval", "bench", "serve", "api", "cli");
    private static final Path MAIN = Path.of("src/main/java/org/flexidepth4j");
    private static final Pattern REFERENCE = Pattern.compile("\\borg\\.flexidepth4j\\.(\\w+)");
    /** A root class (no package below org.flexidepth4j) is written as the name's first letter in upper case. */
    private static final String ROOT = "(root)";

    @Test
    void mainSourcesImportOnlyDownward() throws IOException {
        Map<String, Set<String>> graph = read(MAIN);
        assertThat(graph.keySet()).as("packages of src/main").containsAll(List.of("tensor", "io", "model", "load", "cli"));
        assertThat(violations(graph)).isEmpty();
        assertThat(cycle(graph)).isEmpty();
    }

    @Test
    void upwardImportsCyclesAndRootClassesAreReported() {
        Map<String, Set<String>> graph = Map.of("model", Set.of("tensor", "io"), "io", Set.of("model"), "tensor", Set.of(), ROOT, Set.of("io"),
                "cli", Set.of("load", ROOT), "gadgets", Set.of());
        assertThat(violations(graph)).containsExactlyInAnyOrder(
                "io imports model, which is above it",
                "cli imports the root class package, which has no layer",
                "(root) is not in the layer list " + LAYERS,
                "gadgets is not in the layer list " + LAYERS);
        assertThat(cycle(graph)).containsExactly("io", "model", "io");
    }

    /** Package to the packages its files refer to (itself excluded). */
    static Map<String, Set<String>> read(Path main) throws IOException {
        Map<String, Set<String>> graph = new TreeMap<>();
        try (Stream<Path> files = Files.walk(main)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                Path relative = main.relativize(file);
                String from = relative.getNameCount() == 1 ? ROOT : relative.getName(0).toString();
                Set<String> to = graph.computeIfAbsent(from, k -> new TreeSet<>());
                String code = Files.readString(file).replaceFirst("(?m)^package [\\w.]+;", "");
                for (Matcher m = REFERENCE.matcher(code); m.find(); ) {
                    String target = Character.isUpperCase(m.group(1).charAt(0)) ? ROOT : m.group(1);
                    if (!target.equals(from)) to.add(target);
                }
            }
        }
        return graph;
    }

    static List<String> violations(Map<String, Set<String>> graph) {
        List<String> out = new ArrayList<>();
        graph.forEach((from, targets) -> {
            if (!LAYERS.contains(from)) out.add(from + " is not in the layer list " + LAYERS);
            for (String to : targets) {
                if (to.equals(ROOT)) out.add(from + " imports the root class package, which has no layer");
                else if (LAYERS.contains(from) && LAYERS.indexOf(to) > LAYERS.indexOf(from)) out.add(from + " imports " + to + ", which is above it");
            }
        });
        return out;
    }

    /** One cycle as a path that starts and ends at the same package, or empty when the graph has none. */
    static List<String> cycle(Map<String, Set<String>> graph) {
        Set<String> done = new TreeSet<>();
        for (String start : new TreeSet<>(graph.keySet())) {
            List<String> found = cycleFrom(start, graph, new ArrayList<>(), done);
            if (!found.isEmpty()) return found;
        }
        return List.of();
    }

    private static List<String> cycleFrom(String node, Map<String, Set<String>> graph, List<String> path, Set<String> done) {
        int seen = path.indexOf(node);
        if (seen >= 0) {
            List<String> cycle = new ArrayList<>(path.subList(seen, path.size()));
            cycle.add(node);
            return cycle;
        }
        if (done.contains(node)) return List.of();
        path.add(node);
        for (String next : graph.getOrDefault(node, Set.of())) {
            List<String> found = cycleFrom(next, graph, path, done);
            if (!found.isEmpty()) return found;
        }
        path.removeLast();
        done.add(node);
        return List.of();
    }
}
