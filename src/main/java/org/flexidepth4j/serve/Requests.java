package org.flexidepth4j.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.Sampler;
import org.flexidepth4j.tokenizer.ChatTemplate;

/**
 * Reads and checks the JSON bodies of the OpenAI endpoints: every field's type and range is checked before it
 * sizes or steers anything, and each problem is a 400 naming the field.
 */
final class Requests {
    static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");
    static final int MAX_STOPS = 16;

    private Requests() {
    }

    /** Sampling and stopping fields shared by both completion endpoints (OpenAI's defaults: temperature 1, top_p 1). */
    record Options(Integer maxTokens, Sampler.Settings sampling, List<String> stops, String skip, boolean ignoreEos, boolean stream, boolean includeUsage) {
    }

    static JsonNode parse(byte[] body) {
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("malformed JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw ApiException.badRequest("unreadable body: " + e.getMessage());
        }
        if (node == null || !node.isObject()) throw ApiException.badRequest("the body must be a JSON object");
        return node;
    }

    static Options options(JsonNode body) {
        Integer maxTokens = integer(body, "max_completion_tokens");
        if (maxTokens == null) maxTokens = integer(body, "max_tokens");
        if (maxTokens != null && maxTokens <= 0) throw ApiException.badRequest("max_tokens must be >= 1, got " + maxTokens);
        Integer n = integer(body, "n");
        if (n != null && n != 1) throw ApiException.badRequest("only n = 1 is supported, got " + n);
        float temperature = number(body, "temperature", 1f);
        float topP = number(body, "top_p", 1f);
        float minP = number(body, "min_p", 0f);
        float penalty = number(body, "repetition_penalty", 1f);
        Integer topK = integer(body, "top_k");
        Long seed = body.has("seed") && !body.get("seed").isNull() ? longValue(body, "seed") : null;
        Sampler.Settings sampling;
        try {
            sampling = new Sampler.Settings(temperature, topK == null ? 0 : topK, topP, minP, penalty, seed != null ? seed : System.nanoTime());
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(e.getMessage());
        }
        boolean stream = bool(body, "stream");
        JsonNode streamOptions = body.get("stream_options");
        boolean includeUsage = false;
        if (streamOptions != null && !streamOptions.isNull()) {
            if (!streamOptions.isObject()) throw ApiException.badRequest("stream_options must be an object");
            includeUsage = bool(streamOptions, "include_usage");
        }
        JsonNode skip = body.get("skip");
        if (skip != null && !skip.isNull() && !skip.isTextual()) throw ApiException.badRequest("skip must be a string, e.g. \"none\" or \"flexidepth:0.5\"");
        return new Options(maxTokens, sampling, stops(body), skip == null || skip.isNull() ? "default" : skip.asText(),
                bool(body, "ignore_eos"), stream, includeUsage);
    }

    /** The messages of a chat request, each role one of {@link #ROLES}, content a string or a list of text parts. */
    static List<ChatTemplate.Message> messages(JsonNode body) {
        JsonNode messages = body.get("messages");
        if (messages == null || messages.isNull()) throw ApiException.badRequest("missing field 'messages'");
        if (!messages.isArray() || messages.isEmpty()) throw ApiException.badRequest("messages must be a non-empty array");
        List<ChatTemplate.Message> out = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            if (!m.isObject()) throw ApiException.badRequest("messages[" + i + "] must be an object");
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual()) throw ApiException.badRequest("messages[" + i + "].role must be a string");
            if (!ROLES.contains(role.asText())) throw ApiException.badRequest("messages[" + i + "].role '" + role.asText() + "' is not one of " + ROLES);
            out.add(new ChatTemplate.Message(role.asText(), content(m.get("content"), "messages[" + i + "].content")));
        }
        return out;
    }

    /** The prompt of a completions request: a string, or a list of one string. */
    static String prompt(JsonNode body) {
        JsonNode p = body.get("prompt");
        if (p == null || p.isNull()) throw ApiException.badRequest("missing field 'prompt'");
        if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) return p.get(0).asText();
        if (!p.isTextual()) throw ApiException.badRequest("prompt must be a string");
        return p.asText();
    }

    private static String content(JsonNode c, String field) {
        if (c == null || c.isNull()) return "";
        if (c.isTextual()) return c.asText();
        if (!c.isArray()) throw ApiException.badRequest(field + " must be a string or an array of text parts");
        StringBuilder text = new StringBuilder();
        for (JsonNode part : c) {
            if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                throw ApiException.badRequest(field + ": only parts of type \"text\" with a string \"text\" are supported");
            }
            text.append(part.get("text").asText());
        }
        return text.toString();
    }

    private static List<String> stops(JsonNode body) {
        JsonNode stop = body.get("stop");
        if (stop == null || stop.isNull()) return List.of();
        if (stop.isTextual()) return List.of(stop.asText());
        if (!stop.isArray()) throw ApiException.badRequest("stop must be a string or an array of strings");
        if (stop.size() > MAX_STOPS) throw ApiException.badRequest("stop has " + stop.size() + " strings, at most " + MAX_STOPS + " are allowed");
        List<String> out = new ArrayList<>();
        for (JsonNode s : stop) {
            if (!s.isTextual()) throw ApiException.badRequest("stop must be a string or an array of strings");
            out.add(s.asText());
        }
        return out;
    }

    static Integer integer(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw ApiException.badRequest(field + " must be an integer");
        return v.intValue();
    }

    private static long longValue(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw ApiException.badRequest(field + " must be an integer");
        return v.longValue();
    }

    private static float number(JsonNode body, String field, float otherwise) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return otherwise;
        if (!v.isNumber()) throw ApiException.badRequest(field + " must be a number");
        return v.floatValue();
    }

    static boolean bool(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return false;
        if (!v.isBoolean()) throw ApiException.badRequest(field + " must be true or false");
        return v.booleanValue();
    }
}
