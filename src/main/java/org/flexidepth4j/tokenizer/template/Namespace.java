package org.flexidepth4j.tokenizer.template;

import java.util.LinkedHashMap;
import java.util.Map;

/** jinja2's namespace(): the one object a template may assign attributes to, across loop scopes. */
final class Namespace {
    final Map<String, Object> attributes = new LinkedHashMap<>();

    @Override
    public String toString() {
        return "<Namespace " + Py.repr(attributes) + ">";
    }
}
