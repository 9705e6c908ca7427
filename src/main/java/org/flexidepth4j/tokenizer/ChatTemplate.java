package org.flexidepth4j.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.flexidepth4j.tokenizer.template.Limits;
import org.flexidepth4j.tokenizer.template.Template;

/**
 * A model's chat template (Jinja, from tokenizer_config.json or GGUF metadata), rendered byte for byte as HF
 * transformers' apply_chat_template renders it; see {@link Template} for the engine and {@link Limits} for the
 * bounds on untrusted templates. Errors are IllegalArgumentExceptions starting "chat template: ".
 */
public final class ChatTemplate {
    /** One chat message. */
    public record Message(String role, String content) {
    }

    private final Template template;

    private ChatTemplate(Template template) {
        this.template = template;
    }

    /** Parses a template; syntax errors are IllegalArgumentExceptions naming the line and the problem. */
    public static ChatTemplate compile(String template) {
        return new ChatTemplate(Template.compile(template));
    }

    public String render(List<Message> messages, boolean addGenerationPrompt, String bosToken, String eosToken) {
        Map<String, Object> vars = new HashMap<>();
        vars.put("messages", messageMaps(messages));
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("bos_token", bosToken == null ? "" : bosToken);
        vars.put("eos_token", eosToken == null ? "" : eosToken);
        return render(vars);
    }

    /** Renders with the tokenizer's BOS and first EOS token texts as bos_token and eos_token. */
    public String render(List<Message> messages, boolean addGenerationPrompt, Tokenizer tokenizer) {
        return render(Map.of("messages", messageMaps(messages), "add_generation_prompt", addGenerationPrompt), tokenizer);
    }

    /**
     * Renders with arbitrary variables (messages as maps with tool_calls, tools, enable_thinking, ...); bos_token and
     * eos_token default to the tokenizer's.
     */
    public String render(Map<String, ?> variables, Tokenizer tokenizer) {
        Map<String, Object> vars = new HashMap<>(variables);
        vars.putIfAbsent("bos_token", bosToken(tokenizer));
        vars.putIfAbsent("eos_token", eosToken(tokenizer));
        return render(vars);
    }

    /** Renders with arbitrary variables: Java maps, lists, strings, numbers, booleans and records. */
    public String render(Map<String, ?> variables) {
        return template.render(variables);
    }

    /** Renders with given limits; strftimeNow is what the template's strftime_now(format) returns. */
    public String render(Map<String, ?> variables, Limits limits, UnaryOperator<String> strftimeNow) {
        return template.render(variables, limits, strftimeNow);
    }

    /** The text of the tokenizer's BOS token, which templates see as bos_token ("" without one). */
    public static String bosToken(Tokenizer tokenizer) {
        return tokenizer.bosId() >= 0 ? tokenizer.tokenText(tokenizer.bosId()) : "";
    }

    /** The text of the tokenizer's first EOS token, which templates see as eos_token ("" without one). */
    public static String eosToken(Tokenizer tokenizer) {
        int[] eos = tokenizer.eosIds();
        return eos.length > 0 ? tokenizer.tokenText(eos[0]) : "";
    }

    private static List<Object> messageMaps(List<Message> messages) {
        List<Object> maps = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            maps.add(map);
        }
        return maps;
    }
}
