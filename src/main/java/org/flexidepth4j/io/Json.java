package org.flexidepth4j.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** JSON file reading with one-line errors that name the file. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    public static JsonNode read(Path file) {
        try {
            JsonNode n = MAPPER.readTree(new String(SafeTensors.readAll(file), StandardCharsets.UTF_8));
            if (n == null) throw new FormatException(file, "empty JSON file");
            return n;
        } catch (JsonProcessingException e) {
            throw new FormatException(file, "bad JSON at line " + e.getLocation().getLineNr() + ": " + e.getOriginalMessage());
        }
    }
}
