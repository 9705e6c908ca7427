package org.flexidepth4j.tokenizer.template;

import java.util.function.UnaryOperator;
import java.util.HashMap;
import java.util.Map;

/** Variables of one template, macro, loop iteration or with block; the render's counters are shared by all scopes. */
final class Scope {
    static final Object MISSING = new Object();

    final Scope parent;
    final Render render;
    final Map<String, Object> vars = new HashMap<>();

    Scope(Scope parent) {
        this.parent = parent;
        this.render = parent.render;
    }

    Scope(Render render) {
        this.parent = null;
        this.render = render;
    }

    Object lookup(String name) {
        for (Scope s = this; s != null; s = s.parent) {
            Object v = s.vars.getOrDefault(name, MISSING);
            if (v != MISSING) return v;
        }
        return MISSING;
    }

    /** One rendering: its limits, its time for strftime_now, and what it has used of them. */
    static final class Render {
        final Limits limits;
        final UnaryOperator<String> strftimeNow;
        private long written;
        private long iterations;
        private int depth;

        Render(Limits limits, UnaryOperator<String> strftimeNow) {
            this.limits = limits;
            this.strftimeNow = strftimeNow;
        }

        void write(StringBuilder out, String text) {
            written += text.length();
            if (written > limits.maxCharsWritten()) {
                throw new TemplateException("output passes the limit of " + limits.maxCharsWritten() + " characters");
            }
            out.append(text);
        }

        /** A string a filter or operator built, refused when longer than the whole output may be. */
        String checked(String s) {
            checkLength(s.length());
            return s;
        }

        void checkLength(long length) {
            if (length > limits.maxCharsWritten()) {
                throw new TemplateException("a value of " + length + " characters passes the limit of " + limits.maxCharsWritten());
            }
        }

        /** A list of n items about to be built, bounded like the loops that could walk it. */
        int checkedSize(long n) {
            if (n > limits.maxLoopIterations()) throw new TemplateException("a list of " + n + " items passes the limit of " + limits.maxLoopIterations());
            return (int) n;
        }

        void iteration() {
            if (++iterations > limits.maxLoopIterations()) {
                throw new TemplateException("loops pass the limit of " + limits.maxLoopIterations() + " iterations");
            }
        }

        void enterCall(String name) {
            if (++depth > limits.maxCallDepth()) {
                throw new TemplateException("calls to " + name + "() nest deeper than the limit of " + limits.maxCallDepth());
            }
        }

        void exitCall() {
            depth--;
        }
    }
}
