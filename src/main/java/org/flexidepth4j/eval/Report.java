package org.flexidepth4j.eval;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.flexidepth4j.io.AtomicFiles;
import org.flexidepth4j.io.Json;

/** results.json (machine-readable) and report.md (a table), written atomically into the output directory. */
public final class Report {
    private Report() {
    }

    public static void write(Path dir, Map<String, Object> meta, List<TaskResult> results) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("created", Instant.now().toString());
        root.set("config", Json.MAPPER.valueToTree(meta));
        ArrayNode rows = root.putArray("results");
        for (TaskResult r : results) {
            ObjectNode o = rows.addObject();
            o.put("task", r.task());
            o.put("n", r.n());
            putIfPresent(o, "acc", r.acc());
            putIfPresent(o, "acc_norm", r.accNorm());
            putIfPresent(o, "ppl", r.ppl());
            o.put("layers_per_token", finite(r.layersPerToken()));
            o.put("tokens_per_second", finite(r.tokensPerSecond()));
            o.put("seconds", finite(r.seconds()));
        }
        String json;
        try {
            json = Json.MAPPER.writer().with(SerializationFeature.INDENT_OUTPUT).writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        AtomicFiles.writeString(dir.resolve("results.json"), json + "\n");
        AtomicFiles.writeString(dir.resolve("report.md"), markdown(meta, results));
    }

    static String markdown(Map<String, Object> meta, List<TaskResult> results) {
        StringBuilder sb = new StringBuilder("# Evaluation report\n\n");
        meta.forEach((k, v) -> sb.append("- ").append(k).append(": ").append(v).append('\n'));
        sb.append("\n| task | n | acc | acc_norm | ppl | layers/token | tokens/s | seconds |\n");
        sb.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (TaskResult r : results) {
            sb.append("| ").append(r.task()).append(" | ").append(r.n()).append(" | ").append(fmt(r.acc(), 4)).append(" | ")
                    .append(fmt(r.accNorm(), 4)).append(" | ").append(fmt(r.ppl(), 3)).append(" | ").append(fmt(r.layersPerToken(), 2))
                    .append(" | ").append(fmt(r.tokensPerSecond(), 1)).append(" | ").append(fmt(r.seconds(), 1)).append(" |\n");
        }
        return sb.toString();
    }

    private static String fmt(Double v, int digits) {
        return v == null ? "" : String.format(Locale.ROOT, "%." + digits + "f", v);
    }

    private static void putIfPresent(ObjectNode o, String key, Double v) {
        if (v != null) {
            if (Double.isFinite(v)) o.put(key, v);
            else o.putNull(key);
        }
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }
}
