package org.flexidepth4j.tokenizer.template;

/** jinja2's Undefined: prints as "", iterates as empty, is false, and fails with its hint on any other use. */
final class Undefined {
    final String hint;

    Undefined(String hint) {
        this.hint = hint;
    }

    static Undefined name(String name) {
        return new Undefined("'" + name + "' is undefined");
    }

    static Undefined attribute(Object owner, Object key) {
        return new Undefined("'" + Py.typeName(owner) + " object' has no attribute " + Py.repr(key));
    }

    TemplateException error() {
        return new TemplateException(hint);
    }

    @Override
    public String toString() {
        return "";
    }
}
