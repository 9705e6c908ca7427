package org.flexidepth4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/** The weight tensors of an HF model directory: model.safetensors, or the shards named by model.safetensors.index.json. */
public final class HfCheckpoint {
    private HfCheckpoint() {
    }

    public static Map<String, TensorEntry> tensors(Path dir) {
        Path single = dir.resolve("model.safetensors");
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.exists(index)) return sharded(dir, index);
        if (Files.exists(single)) return SafeTensors.open(single).tensors();
        throw new FormatException(dir, "no model.safetensors or model.safetensors.index.json");
    }

    private static Map<String, TensorEntry> sharded(Path dir, Path index) {
        JsonNode map = Json.read(index).path("weight_map");
        if (!map.isObject() || map.isEmpty()) throw new FormatException(index, "weight_map is missing or empty");
        Map<String, SafeTensors> shards = new HashMap<>();
        Map<String, TensorEntry> out = new LinkedHashMap<>();
        map.fields().forEachRemaining(e -> {
            String shardName = e.getValue().asText();
            if (shardName.contains("/") || shardName.contains("\\")) throw new FormatException(index, "shard name '" + shardName + "' is not a plain file name");
            SafeTensors shard = shards.computeIfAbsent(shardName, n -> SafeTensors.open(dir.resolve(n)));
            TensorEntry t = shard.tensors().get(e.getKey());
            if (t == null) throw new FormatException(shard.file(), "tensor " + e.getKey() + " listed in " + index.getFileName() + " is missing");
            out.put(e.getKey(), t);
        });
        return out;
    }
}
