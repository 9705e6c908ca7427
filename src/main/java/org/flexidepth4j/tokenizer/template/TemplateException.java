package org.flexidepth4j.tokenizer.template;

/** A template that does not parse, fails while rendering, raises an exception itself, or passes a limit. */
public final class TemplateException extends IllegalArgumentException {
    public TemplateException(String message) {
        super("chat template: " + message);
    }
}
