package org.flexidepth4j.skip;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.flexidepth4j.io.AtomicFiles;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.HfCheckpoint;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.SafeTensors;
import org.flexidepth4j.io.TensorEntry;

/**
 * Writes a base HF directory plus a plug-in file as one merged FlexiDepth directory in the released layout: the
 * base shards unchanged, the plug-in as the extra shard {@value #PLUGIN_SHARD}, a {@code model.safetensors.index.json}
 * naming both, and config.json with {@code router_reduction_factor} / {@code proj_reduction_factor}. The directory
 * is built beside {@code out} and renamed into place, so a failed merge leaves nothing half-written.
 */
public final class MergedCheckpoint {
    public static final String PLUGIN_SHARD = "flexidepth.safetensors";
    private static final String INDEX = "model.safetensors.index.json";

    private MergedCheckpoint() {
    }

    public static void write(Path baseDir, Path pluginFile, Path out) {
        Map<String, TensorEntry> base = HfCheckpoint.tensors(baseDir);
        if (FlexiDepthFiles.hasRouters(base)) throw new FormatException(baseDir, "already has FlexiDepth routers; merge into a base model");
        if (!Files.exists(pluginFile)) throw new FormatException(pluginFile, "file not found");
        SafeTensors plugin = SafeTensors.open(pluginFile);
        if (!FlexiDepthFiles.hasRouters(plugin.tensors())) throw new FormatException(pluginFile, "no FlexiDepth router tensors (model.layers.N.router.*)");
        Map<String, String> weightMap = new TreeMap<>();
        for (Map.Entry<String, TensorEntry> e : base.entrySet()) {
            String shard = e.getValue().file().getFileName().toString();
            if (shard.equals(PLUGIN_SHARD)) throw new FormatException(baseDir, "a base shard is already named " + PLUGIN_SHARD);
            weightMap.put(e.getKey(), shard);
        }
        for (String name : plugin.tensors().keySet()) {
            if (weightMap.put(name, PLUGIN_SHARD) != null) throw new FormatException(pluginFile, "tensor " + name + " is also in the base model");
        }
        ObjectNode config = (ObjectNode) Json.read(baseDir.resolve("config.json"));
        Map<String, String> meta = plugin.metadata();
        config.put("router_reduction_factor", Integer.parseInt(meta.getOrDefault("router_reduction_factor", "16")));
        config.put("proj_reduction_factor", Integer.parseInt(meta.getOrDefault("proj_reduction_factor", meta.getOrDefault("router_reduction_factor", "16"))));

        Path parent = out.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(parent);
            tmp = Files.createTempDirectory(parent, "." + out.getFileName() + "-");
            try (Stream<Path> files = Files.list(baseDir)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    String name = f.getFileName().toString();
                    if (name.equals("config.json") || name.equals(INDEX)) continue;
                    Files.copy(f, tmp.resolve(name));
                }
            }
            Files.copy(pluginFile, tmp.resolve(PLUGIN_SHARD), StandardCopyOption.REPLACE_EXISTING);
            Files.writeString(tmp.resolve("config.json"), config.toPrettyString() + "\n");
            ObjectNode index = Json.MAPPER.createObjectNode();
            index.putObject("metadata");
            ObjectNode map = index.putObject("weight_map");
            weightMap.forEach(map::put);
            Files.writeString(tmp.resolve(INDEX), index.toPrettyString() + "\n");
            if (Files.exists(out)) throw new FormatException(out, "already exists; choose a new output directory");
            Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
            tmp = null;
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    AtomicFiles.deleteTree(tmp);
                } catch (IOException ignored) {
                    // best effort: a leftover hidden temp directory is harmless
                }
            }
        }
    }
}
