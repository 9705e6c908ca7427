package org.flexidepth4j.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** JSON file reading with one-line errors that name the file. */
public final class Json {
    /** Rejects duplicate keys (Jackson would keep the last one silently: a duplicate tensor would replace weights). */
    public static final ObjectMapper MAPPER = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private Json() {
    }

    public static JsonNode read(Path file) {
        try {
            JsonNode n = MAPPER.readTree(new String(WholeFiles.bytes(file), StandardCharsets.UTF_8));
            if (n == null) throw new FormatException(file, "empty JSON file");
            return n;
        } catch (JsonProcessingException e) {
            throw new FormatException(file, "bad JSON" + (e.getLocation() != null ? " at line " + e.getLocation().getLineNr() : "") + ": " + oneLine(e.getOriginalMessage()));
        }
    }

    /** Jackson's messages may quote the input over several lines. */
    public static String oneLine(String message) {
        return message == null ? "" : message.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
