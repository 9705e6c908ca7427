package org.flexidepth4j.tokenizer.template;

import java.time.LocalDateTime;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A Jinja template rendered exactly as Python's jinja2 renders it in HF transformers' apply_chat_template
 * (ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and loop controls; tojson, raise_exception and
 * strftime_now), within {@link Limits}. Compiled once, it renders from any number of threads.
 */
public final class Template {
    private final List<Parser.Node> body;

    private Template(List<Parser.Node> body) {
        this.body = body;
    }

    /** Parses a template; a syntax error is a {@link TemplateException} naming the line. */
    public static Template compile(String source) {
        return new Template(Parser.parse(source));
    }

    /** Renders with the given variables (Java maps, lists, strings, numbers, booleans, records), today's time and the default limits. */
    public String render(Map<String, ?> variables) {
        return render(variables, Limits.DEFAULT, clock(LocalDateTime.now()));
    }

    /** strftime_now as HF defines it: Python's strftime of the given time (the fields chat templates use). */
    public static UnaryOperator<String> clock(LocalDateTime now) {
        return format -> Methods.strftime(format, now);
    }

    /**
     * Renders with the given variables; {@code strftimeNow} is what strftime_now(format) returns. Errors, the
     * template's own raise_exception and limits passed are {@link TemplateException}s.
     */
    public String render(Map<String, ?> variables, Limits limits, UnaryOperator<String> strftimeNow) {
        Scope scope = new Scope(new Scope.Render(limits, strftimeNow));
        variables.forEach((name, value) -> scope.vars.put(name, Py.fromJava(value)));
        StringBuilder out = new StringBuilder();
        try {
            Parser.renderAll(body, scope, out);
        } catch (StackOverflowError e) {
            throw new TemplateException("nested too deeply to render");
        }
        return out.toString();
    }
}
