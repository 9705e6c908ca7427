package org.flexidepth4j.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A small Jinja renderer for the chat templates found in tokenizer configs (ChatML, Llama-3, Qwen, Mistral):
 * text, {{ expressions }}, {% for / if / elif / else / set %}, comments, whitespace control ("-"), and HF's
 * environment settings trim_blocks and lstrip_blocks. Expressions: literals, variables, attribute and index
 * access, slices, + - * / % ~, comparisons, in, and/or/not, "x if c else y", tests (is defined, is none, is
 * string...), filters (trim, length, upper, lower, tojson, join, default, first, last...), string and dict
 * methods, namespace(), raise_exception().
 */
public final class ChatTemplate {
    /** One chat message. */
    public record Message(String role, String content) {
    }

    private static final Object UNDEFINED = new Object() {
        @Override
        public String toString() {
            return "";
        }
    };

    private final List<Node> body;

    private ChatTemplate(List<Node> body) {
        this.body = body;
    }

    /** Parses a template; syntax errors are IllegalArgumentExceptions naming the problem. */
    public static ChatTemplate compile(String template) {
        Parser p = new Parser(lex(template));
        List<Node> body = p.block(List.of());
        if (p.pos < p.parts.size()) throw new IllegalArgumentException("chat template: unexpected {% " + String.join(" ", p.parts.get(p.pos).tokens) + " %}");
        return new ChatTemplate(body);
    }

    public String render(List<Message> messages, boolean addGenerationPrompt, String bosToken, String eosToken) {
        List<Object> msgs = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(map);
        }
        Map<String, Object> vars = new HashMap<>();
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("bos_token", bosToken == null ? "" : bosToken);
        vars.put("eos_token", eosToken == null ? "" : eosToken);
        return render(vars);
    }

    /** Renders with the tokenizer's BOS and first EOS token texts as bos_token and eos_token. */
    public String render(List<Message> messages, boolean addGenerationPrompt, Tokenizer tokenizer) {
        String bos = tokenizer.bosId() >= 0 ? tokenizer.tokenText(tokenizer.bosId()) : "";
        int[] eos = tokenizer.eosIds();
        return render(messages, addGenerationPrompt, bos, eos.length > 0 ? tokenizer.tokenText(eos[0]) : "");
    }

    /** Renders with arbitrary variables (messages as lists of maps, tools, ...). */
    public String render(Map<String, Object> variables) {
        StringBuilder out = new StringBuilder();
        Scope scope = new Scope(null);
        scope.vars.putAll(variables);
        for (Node n : body) n.run(scope, out);
        return out.toString();
    }

    // ---------------------------------------------------------------- lexing

    /** A piece of template: literal text, an output tag, or a statement tag (its tokens). */
    private record Part(char kind, String text, List<String> tokens) {
    }

    private static List<Part> lex(String src) {
        List<Part> parts = new ArrayList<>();
        int i = 0;
        boolean trimNext = false;
        StringBuilder text = new StringBuilder();
        while (i < src.length()) {
            int open = findTag(src, i);
            String chunk = src.substring(i, open < 0 ? src.length() : open);
            if (trimNext) chunk = chunk.stripLeading();
            text.append(chunk);
            if (open < 0) break;
            char kind = src.charAt(open + 1);
            String close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
            int end = src.indexOf(close, open + 2);
            if (end < 0) throw new IllegalArgumentException("chat template: unclosed " + src.substring(open, open + 2));
            String inner = src.substring(open + 2, end);
            boolean stripBefore = inner.startsWith("-");
            boolean keepBefore = inner.startsWith("+");
            boolean stripAfter = inner.endsWith("-") && inner.length() > (stripBefore ? 1 : 0);
            if (stripBefore || keepBefore) inner = inner.substring(1);
            if (stripAfter || inner.endsWith("+")) inner = inner.substring(0, inner.length() - 1);
            String pending = text.toString();
            if (stripBefore) {
                pending = pending.stripTrailing();
            } else if (kind != '{' && !keepBefore) {
                // lstrip_blocks: a block tag alone after indentation takes the indentation with it
                int nl = pending.lastIndexOf('\n') + 1;
                if (pending.substring(nl).isBlank()) pending = pending.substring(0, nl);
            }
            if (!pending.isEmpty()) parts.add(new Part('t', pending, null));
            text.setLength(0);
            if (kind == '{') parts.add(new Part('o', null, tokens(inner)));
            else if (kind == '%') parts.add(new Part('s', null, tokens(inner)));
            i = end + 2;
            trimNext = stripAfter;
            // trim_blocks: the first newline after a block tag is dropped
            if (!stripAfter && kind != '{' && i < src.length() && src.charAt(i) == '\n') i++;
        }
        if (!text.isEmpty()) parts.add(new Part('t', text.toString(), null));
        return parts;
    }

    private static int findTag(String s, int from) {
        for (int i = s.indexOf('{', from); i >= 0 && i + 1 < s.length(); i = s.indexOf('{', i + 1)) {
            char c = s.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') return i;
        }
        return -1;
    }

    private static List<String> tokens(String s) {
        List<String> out = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (c == '\'' || c == '"') {
                StringBuilder sb = new StringBuilder("'");
                int j = i + 1;
                while (j < s.length() && s.charAt(j) != c) {
                    char d = s.charAt(j);
                    if (d == '\\' && j + 1 < s.length()) {
                        char e = s.charAt(++j);
                        sb.append(switch (e) {
                            case 'n' -> '\n';
                            case 't' -> '\t';
                            case 'r' -> '\r';
                            default -> e;
                        });
                    } else {
                        sb.append(d);
                    }
                    j++;
                }
                if (j >= s.length()) throw new IllegalArgumentException("chat template: unterminated string");
                out.add(sb.toString());
                i = j + 1;
            } else if (Character.isLetterOrDigit(c) || c == '_') {
                int j = i;
                while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) j++;
                out.add(s.substring(i, j));
                i = j;
            } else {
                String two = i + 1 < s.length() ? s.substring(i, i + 2) : "";
                if (List.of("==", "!=", "<=", ">=", "//", "**").contains(two)) {
                    out.add(two);
                    i += 2;
                } else {
                    out.add(String.valueOf(c));
                    i++;
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- tree

    private interface Node {
        void run(Scope scope, StringBuilder out);
    }

    private interface Expr {
        Object eval(Scope scope);
    }

    private static final class Scope {
        final Scope parent;
        final Map<String, Object> vars = new HashMap<>();

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object get(String name) {
            for (Scope s = this; s != null; s = s.parent) if (s.vars.containsKey(name)) return s.vars.get(name);
            return UNDEFINED;
        }
    }

    private static final class Parser {
        final List<Part> parts;
        int pos;
        List<String> toks;
        int tp;

        Parser(List<Part> parts) {
            this.parts = parts;
        }

        /** Nodes up to (not including) a statement whose keyword is in {@code ends}. */
        List<Node> block(List<String> ends) {
            List<Node> nodes = new ArrayList<>();
            while (pos < parts.size()) {
                Part p = parts.get(pos);
                if (p.kind == 't') {
                    String text = p.text;
                    nodes.add((s, out) -> out.append(text));
                    pos++;
                } else if (p.kind == 'o') {
                    start(p.tokens);
                    Expr e = expr();
                    done();
                    nodes.add((s, out) -> out.append(str(e.eval(s))));
                    pos++;
                } else {
                    if (p.tokens.isEmpty()) throw new IllegalArgumentException("chat template: empty {% %}");
                    String kw = p.tokens.getFirst();
                    if (ends.contains(kw)) return nodes;
                    pos++;
                    nodes.add(statement(kw, p.tokens));
                }
            }
            if (!ends.isEmpty()) throw new IllegalArgumentException("chat template: missing {% " + ends.getLast() + " %}");
            return nodes;
        }

        private String keyword() {
            return parts.get(pos).tokens.getFirst();
        }

        Node statement(String kw, List<String> tokens) {
            start(tokens);
            tp = 1;
            switch (kw) {
                case "if" -> {
                    List<Expr> conds = new ArrayList<>();
                    List<List<Node>> bodies = new ArrayList<>();
                    conds.add(expr());
                    done();
                    bodies.add(block(List.of("elif", "else", "endif")));
                    List<Node> otherwise = List.of();
                    while (true) {
                        String k = keyword();
                        List<String> t = parts.get(pos++).tokens;
                        if (k.equals("endif")) break;
                        if (k.equals("elif")) {
                            start(t);
                            tp = 1;
                            conds.add(expr());
                            done();
                            bodies.add(block(List.of("elif", "else", "endif")));
                        } else {
                            otherwise = block(List.of("endif"));
                        }
                    }
                    List<Node> elseBody = otherwise;
                    return (s, out) -> {
                        for (int i = 0; i < conds.size(); i++) {
                            if (truthy(conds.get(i).eval(s))) {
                                for (Node n : bodies.get(i)) n.run(s, out);
                                return;
                            }
                        }
                        for (Node n : elseBody) n.run(s, out);
                    };
                }
                case "for" -> {
                    List<String> names = new ArrayList<>();
                    names.add(name());
                    while (peek(",")) {
                        tp++;
                        names.add(name());
                    }
                    expect("in");
                    Expr iterable = ternaryFree();
                    Expr filter = null;
                    if (peek("if")) {
                        tp++;
                        filter = expr();
                    }
                    done();
                    List<Node> loopBody = block(List.of("else", "endfor"));
                    List<Node> emptyBody = List.of();
                    if (keyword().equals("else")) {
                        pos++;
                        emptyBody = block(List.of("endfor"));
                    }
                    pos++;
                    Expr cond = filter;
                    List<Node> whenEmpty = emptyBody;
                    return (s, out) -> {
                        List<Object> items = new ArrayList<>();
                        for (Object item : iterate(iterable.eval(s))) {
                            if (cond != null) {
                                Scope probe = new Scope(s);
                                bind(probe, names, item);
                                if (!truthy(cond.eval(probe))) continue;
                            }
                            items.add(item);
                        }
                        if (items.isEmpty()) for (Node n : whenEmpty) n.run(s, out);
                        for (int i = 0; i < items.size(); i++) {
                            Scope inner = new Scope(s);
                            bind(inner, names, items.get(i));
                            Map<String, Object> loop = new HashMap<>();
                            loop.put("index0", (long) i);
                            loop.put("index", (long) i + 1);
                            loop.put("revindex", (long) (items.size() - i));
                            loop.put("revindex0", (long) (items.size() - i - 1));
                            loop.put("first", i == 0);
                            loop.put("last", i == items.size() - 1);
                            loop.put("length", (long) items.size());
                            loop.put("previtem", i > 0 ? items.get(i - 1) : UNDEFINED);
                            loop.put("nextitem", i + 1 < items.size() ? items.get(i + 1) : UNDEFINED);
                            inner.vars.put("loop", loop);
                            for (Node n : loopBody) n.run(inner, out);
                        }
                    };
                }
                case "set" -> {
                    String target = name();
                    String attr = null;
                    if (peek(".")) {
                        tp++;
                        attr = name();
                    }
                    expect("=");
                    Expr value = expr();
                    done();
                    String field = attr;
                    return (s, out) -> {
                        Object v = value.eval(s);
                        if (field == null) {
                            s.vars.put(target, v);
                        } else if (s.get(target) instanceof Map<?, ?> m) {
                            @SuppressWarnings("unchecked") Map<String, Object> ns = (Map<String, Object>) m;
                            ns.put(field, v);
                        } else {
                            throw new IllegalArgumentException("chat template: cannot set " + target + "." + field);
                        }
                    };
                }
                default -> throw new IllegalArgumentException("chat template: unsupported statement {% " + kw + " %}");
            }
        }

        private static void bind(Scope scope, List<String> names, Object item) {
            if (names.size() == 1) {
                scope.vars.put(names.getFirst(), item);
                return;
            }
            List<Object> values = iterate(item);
            for (int i = 0; i < names.size(); i++) scope.vars.put(names.get(i), i < values.size() ? values.get(i) : UNDEFINED);
        }

        // ---- expression parsing

        void start(List<String> tokens) {
            toks = tokens;
            tp = 0;
        }

        void done() {
            if (tp < toks.size()) throw new IllegalArgumentException("chat template: unexpected '" + toks.get(tp) + "' in " + String.join(" ", toks));
        }

        boolean peek(String t) {
            return tp < toks.size() && toks.get(tp).equals(t);
        }

        void expect(String t) {
            if (!peek(t)) throw new IllegalArgumentException("chat template: expected '" + t + "' in " + String.join(" ", toks));
            tp++;
        }

        String name() {
            if (tp >= toks.size() || !Character.isJavaIdentifierStart(toks.get(tp).charAt(0))) {
                throw new IllegalArgumentException("chat template: expected a name in " + String.join(" ", toks));
            }
            return toks.get(tp++);
        }

        Expr expr() {
            Expr value = ternaryFree();
            if (peek("if")) {
                tp++;
                Expr cond = or();
                Expr otherwise = s -> UNDEFINED;
                if (peek("else")) {
                    tp++;
                    otherwise = expr();
                }
                Expr other = otherwise;
                return s -> truthy(cond.eval(s)) ? value.eval(s) : other.eval(s);
            }
            return value;
        }

        /** An expression without a trailing "if ... else ...": a for loop's iterable, where "if" starts the loop filter. */
        Expr ternaryFree() {
            return or();
        }

        Expr or() {
            Expr left = and();
            while (peek("or")) {
                tp++;
                Expr l = left, r = and();
                left = s -> {
                    Object a = l.eval(s);
                    return truthy(a) ? a : r.eval(s);
                };
            }
            return left;
        }

        Expr and() {
            Expr left = not();
            while (peek("and")) {
                tp++;
                Expr l = left, r = not();
                left = s -> {
                    Object a = l.eval(s);
                    return !truthy(a) ? a : r.eval(s);
                };
            }
            return left;
        }

        Expr not() {
            if (peek("not")) {
                tp++;
                Expr e = not();
                return s -> !truthy(e.eval(s));
            }
            return compare();
        }

        Expr compare() {
            Expr left = concat();
            while (tp < toks.size()) {
                String op = toks.get(tp);
                Expr l = left;
                if (op.equals("is")) {
                    tp++;
                    boolean negate = peek("not");
                    if (negate) tp++;
                    String test = name();
                    Expr arg = null;
                    if (peek("(")) {
                        tp++;
                        arg = expr();
                        expect(")");
                    } else if (tp < toks.size() && !List.of("and", "or", "else", "if", ")", "]", ",", "}").contains(toks.get(tp))) {
                        arg = primary();
                    }
                    Expr a = arg;
                    left = s -> negate != test(test, l.eval(s), a == null ? null : a.eval(s));
                } else if (op.equals("in") || (op.equals("not") && tp + 1 < toks.size() && toks.get(tp + 1).equals("in"))) {
                    boolean negate = op.equals("not");
                    tp += negate ? 2 : 1;
                    Expr r = concat();
                    left = s -> negate != contains(r.eval(s), l.eval(s));
                } else if (List.of("==", "!=", "<", ">", "<=", ">=").contains(op)) {
                    tp++;
                    Expr r = concat();
                    left = s -> {
                        Object a = l.eval(s), b = r.eval(s);
                        return switch (op) {
                            case "==" -> same(a, b);
                            case "!=" -> !same(a, b);
                            default -> {
                                int c = compareValues(a, b);
                                yield switch (op) {
                                    case "<" -> c < 0;
                                    case ">" -> c > 0;
                                    case "<=" -> c <= 0;
                                    default -> c >= 0;
                                };
                            }
                        };
                    };
                } else {
                    break;
                }
            }
            return left;
        }

        Expr concat() {
            Expr left = additive();
            while (peek("~")) {
                tp++;
                Expr l = left, r = additive();
                left = s -> str(l.eval(s)) + str(r.eval(s));
            }
            return left;
        }

        Expr additive() {
            Expr left = multiplicative();
            while (peek("+") || peek("-")) {
                String op = toks.get(tp++);
                Expr l = left, r = multiplicative();
                left = s -> arithmetic(op, l.eval(s), r.eval(s));
            }
            return left;
        }

        Expr multiplicative() {
            Expr left = unary();
            while (peek("*") || peek("/") || peek("%") || peek("//")) {
                String op = toks.get(tp++);
                Expr l = left, r = unary();
                left = s -> arithmetic(op, l.eval(s), r.eval(s));
            }
            return left;
        }

        Expr unary() {
            if (peek("-")) {
                tp++;
                Expr e = unary();
                return s -> arithmetic("-", 0L, e.eval(s));
            }
            return postfix(primary());
        }

        Expr postfix(Expr base) {
            while (tp < toks.size()) {
                Expr b = base;
                if (peek(".")) {
                    tp++;
                    String member = name();
                    if (peek("(")) {
                        List<Expr> args = args();
                        base = s -> method(b.eval(s), member, evalAll(args, s));
                    } else {
                        base = s -> attribute(b.eval(s), member);
                    }
                } else if (peek("[")) {
                    tp++;
                    Expr from = peek(":") ? null : expr();
                    if (peek(":")) {
                        tp++;
                        Expr to = peek("]") ? null : expr();
                        expect("]");
                        Expr f = from;
                        base = s -> slice(b.eval(s), f == null ? null : f.eval(s), to == null ? null : to.eval(s));
                    } else {
                        expect("]");
                        Expr key = from;
                        base = s -> attribute(b.eval(s), key.eval(s));
                    }
                } else if (peek("|")) {
                    tp++;
                    String filter = name();
                    List<Expr> args = peek("(") ? args() : List.of();
                    base = s -> filter(filter, b.eval(s), evalAll(args, s));
                } else {
                    break;
                }
            }
            return base;
        }

        /** Call arguments; keyword arguments come as a trailing map. */
        List<Expr> args() {
            expect("(");
            List<Expr> args = new ArrayList<>();
            Map<String, Expr> kwargs = new LinkedHashMap<>();
            while (!peek(")")) {
                if (tp + 1 < toks.size() && toks.get(tp + 1).equals("=") && Character.isJavaIdentifierStart(toks.get(tp).charAt(0))) {
                    String k = toks.get(tp);
                    tp += 2;
                    kwargs.put(k, expr());
                } else {
                    args.add(expr());
                }
                if (!peek(")")) expect(",");
            }
            tp++;
            if (!kwargs.isEmpty()) {
                args.add(s -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    kwargs.forEach((k, e) -> m.put(k, e.eval(s)));
                    return new Kwargs(m);
                });
            }
            return args;
        }

        Expr primary() {
            if (tp >= toks.size()) throw new IllegalArgumentException("chat template: expression ends early in " + String.join(" ", toks));
            String t = toks.get(tp++);
            if (t.startsWith("'")) {
                StringBuilder sb = new StringBuilder(t.substring(1));
                while (tp < toks.size() && toks.get(tp).startsWith("'")) sb.append(toks.get(tp++).substring(1)); // adjacent literals join
                String v = sb.toString();
                return s -> v;
            }
            if (Character.isDigit(t.charAt(0))) {
                if (peek(".") && tp + 1 < toks.size() && Character.isDigit(toks.get(tp + 1).charAt(0))) {
                    double d = Double.parseDouble(t + "." + toks.get(tp + 1));
                    tp += 2;
                    return s -> d;
                }
                long v = Long.parseLong(t);
                return s -> v;
            }
            switch (t) {
                case "(" -> {
                    Expr e = expr();
                    expect(")");
                    return e;
                }
                case "[" -> {
                    List<Expr> items = new ArrayList<>();
                    while (!peek("]")) {
                        items.add(expr());
                        if (!peek("]")) expect(",");
                    }
                    tp++;
                    return s -> new ArrayList<>(evalAll(items, s));
                }
                case "{" -> {
                    List<Expr[]> entries = new ArrayList<>();
                    while (!peek("}")) {
                        Expr k = expr();
                        expect(":");
                        entries.add(new Expr[] {k, expr()});
                        if (!peek("}")) expect(",");
                    }
                    tp++;
                    return s -> {
                        Map<String, Object> m = new LinkedHashMap<>();
                        for (Expr[] e : entries) m.put(str(e[0].eval(s)), e[1].eval(s));
                        return m;
                    };
                }
                case "true", "True" -> {
                    return s -> true;
                }
                case "false", "False" -> {
                    return s -> false;
                }
                case "none", "None" -> {
                    return s -> null;
                }
                default -> {
                }
            }
            if (!Character.isJavaIdentifierStart(t.charAt(0))) throw new IllegalArgumentException("chat template: unexpected '" + t + "' in " + String.join(" ", toks));
            if (peek("(")) {
                List<Expr> args = args();
                return s -> call(t, evalAll(args, s));
            }
            return s -> s.get(t);
        }
    }

    private record Kwargs(Map<String, Object> values) {
    }

    // ---------------------------------------------------------------- evaluation

    private static List<Object> evalAll(List<Expr> exprs, Scope s) {
        List<Object> out = new ArrayList<>(exprs.size());
        for (Expr e : exprs) out.add(e.eval(s));
        return out;
    }

    private static Object call(String function, List<Object> args) {
        switch (function) {
            case "raise_exception" -> throw new IllegalArgumentException("chat template: " + (args.isEmpty() ? "error" : str(args.getFirst())));
            case "namespace" -> {
                Map<String, Object> ns = new HashMap<>();
                for (Object a : args) if (a instanceof Kwargs k) ns.putAll(k.values);
                return ns;
            }
            case "range" -> {
                long from = args.size() > 1 ? num(args.get(0)).longValue() : 0, to = num(args.get(args.size() > 1 ? 1 : 0)).longValue();
                List<Object> out = new ArrayList<>();
                for (long i = from; i < to; i++) out.add(i);
                return out;
            }
            case "strftime_now" -> {
                return java.time.LocalDate.now().format(java.time.format.DateTimeFormatter.ofPattern("dd MMM yyyy"));
            }
            default -> throw new IllegalArgumentException("chat template: unknown function " + function + "()");
        }
    }

    private static Object attribute(Object target, Object key) {
        if (target instanceof Map<?, ?> m) return m.containsKey(str(key)) ? m.get(str(key)) : UNDEFINED;
        if (target instanceof List<?> l && key instanceof Number n) {
            int i = n.intValue();
            if (i < 0) i += l.size();
            return i >= 0 && i < l.size() ? l.get(i) : UNDEFINED;
        }
        if (target instanceof String s && key instanceof Number n) {
            int i = n.intValue() < 0 ? n.intValue() + s.length() : n.intValue();
            return i >= 0 && i < s.length() ? String.valueOf(s.charAt(i)) : UNDEFINED;
        }
        return UNDEFINED;
    }

    private static Object slice(Object target, Object from, Object to) {
        int n = target instanceof List<?> l ? l.size() : target instanceof String s ? s.length() : 0;
        int a = from == null ? 0 : num(from).intValue(), b = to == null ? n : num(to).intValue();
        if (a < 0) a = Math.max(0, a + n);
        if (b < 0) b = Math.max(0, b + n);
        a = Math.min(a, n);
        b = Math.max(a, Math.min(b, n));
        if (target instanceof List<?> l) return new ArrayList<Object>(l.subList(a, b));
        if (target instanceof String s) return s.substring(a, b);
        return UNDEFINED;
    }

    private static Object method(Object target, String name, List<Object> args) {
        if (target instanceof String s) {
            return switch (name) {
                case "strip" -> args.isEmpty() ? s.strip() : stripChars(s, str(args.getFirst()), true, true);
                case "lstrip" -> args.isEmpty() ? s.stripLeading() : stripChars(s, str(args.getFirst()), true, false);
                case "rstrip" -> args.isEmpty() ? s.stripTrailing() : stripChars(s, str(args.getFirst()), false, true);
                case "startswith" -> s.startsWith(str(args.getFirst()));
                case "endswith" -> s.endsWith(str(args.getFirst()));
                case "upper" -> s.toUpperCase();
                case "lower" -> s.toLowerCase();
                case "replace" -> s.replace(str(args.get(0)), str(args.get(1)));
                case "split" -> {
                    List<Object> parts = new ArrayList<>();
                    if (args.isEmpty()) {
                        for (String p : s.strip().split("\\s+")) if (!p.isEmpty()) parts.add(p);
                    } else {
                        parts.addAll(List.of(s.split(java.util.regex.Pattern.quote(str(args.getFirst())), -1)));
                    }
                    yield parts;
                }
                default -> throw new IllegalArgumentException("chat template: unknown string method " + name + "()");
            };
        }
        if (target instanceof Map<?, ?> m) {
            return switch (name) {
                case "items" -> {
                    List<Object> out = new ArrayList<>();
                    m.forEach((k, v) -> out.add(List.of(k, v == null ? UNDEFINED : v)));
                    yield out;
                }
                case "keys" -> new ArrayList<Object>(m.keySet());
                case "values" -> new ArrayList<Object>(m.values());
                case "get" -> m.containsKey(str(args.getFirst())) ? m.get(str(args.getFirst())) : args.size() > 1 ? args.get(1) : null;
                default -> throw new IllegalArgumentException("chat template: unknown dict method " + name + "()");
            };
        }
        throw new IllegalArgumentException("chat template: cannot call " + name + "() on " + typeName(target));
    }

    private static String stripChars(String s, String chars, boolean left, boolean right) {
        int a = 0, b = s.length();
        while (left && a < b && chars.indexOf(s.charAt(a)) >= 0) a++;
        while (right && b > a && chars.indexOf(s.charAt(b - 1)) >= 0) b--;
        return s.substring(a, b);
    }

    private static Object filter(String name, Object v, List<Object> args) {
        return switch (name) {
            case "trim" -> str(v).strip();
            case "upper" -> str(v).toUpperCase();
            case "lower" -> str(v).toLowerCase();
            case "capitalize" -> str(v).isEmpty() ? "" : Character.toUpperCase(str(v).charAt(0)) + str(v).substring(1).toLowerCase();
            case "string" -> str(v);
            case "length", "count" -> (long) (v instanceof List<?> l ? l.size() : v instanceof Map<?, ?> m ? m.size() : str(v).length());
            case "first" -> attribute(v, 0L);
            case "last" -> attribute(v, -1L);
            case "join" -> {
                StringBuilder sb = new StringBuilder();
                String sep = args.isEmpty() ? "" : str(args.getFirst());
                List<Object> items = iterate(v);
                for (int i = 0; i < items.size(); i++) sb.append(i > 0 ? sep : "").append(str(items.get(i)));
                yield sb.toString();
            }
            case "default", "d" -> v == UNDEFINED || (args.size() > 1 && truthy(args.get(1)) && !truthy(v)) ? (args.isEmpty() ? "" : args.getFirst()) : v;
            case "tojson" -> toJson(v);
            case "list" -> iterate(v);
            case "int" -> v instanceof Number n ? n.longValue() : Long.parseLong(str(v).strip());
            case "replace" -> str(v).replace(str(args.get(0)), str(args.get(1)));
            default -> throw new IllegalArgumentException("chat template: unknown filter " + name);
        };
    }

    private static boolean test(String name, Object v, Object arg) {
        return switch (name) {
            case "defined" -> v != UNDEFINED;
            case "undefined" -> v == UNDEFINED;
            case "none" -> v == null;
            case "string" -> v instanceof String;
            case "number" -> v instanceof Number;
            case "boolean" -> v instanceof Boolean;
            case "mapping" -> v instanceof Map;
            case "iterable", "sequence" -> v instanceof List || v instanceof String || v instanceof Map;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "even" -> num(v).longValue() % 2 == 0;
            case "odd" -> num(v).longValue() % 2 != 0;
            case "equalto", "eq", "sameas" -> same(v, arg);
            default -> throw new IllegalArgumentException("chat template: unknown test " + name);
        };
    }

    private static boolean contains(Object container, Object item) {
        if (container instanceof String s) return s.contains(str(item));
        if (container instanceof Map<?, ?> m) return m.containsKey(str(item));
        if (container instanceof List<?> l) {
            for (Object o : l) if (same(o, item)) return true;
        }
        return false;
    }

    private static List<Object> iterate(Object v) {
        if (v instanceof List<?> l) return new ArrayList<>(l);
        if (v instanceof Map<?, ?> m) return new ArrayList<>(m.keySet());
        if (v instanceof String s) {
            List<Object> out = new ArrayList<>();
            s.codePoints().forEach(c -> out.add(Character.toString(c)));
            return out;
        }
        if (v == UNDEFINED || v == null) return List.of();
        throw new IllegalArgumentException("chat template: cannot iterate over " + typeName(v));
    }

    private static Object arithmetic(String op, Object a, Object b) {
        if (op.equals("+") && a instanceof String x && b instanceof String y) return x + y;
        if (op.equals("+") && a instanceof List<?> x && b instanceof List<?> y) {
            List<Object> out = new ArrayList<>(x);
            out.addAll(y);
            return out;
        }
        if (!(a instanceof Number) || !(b instanceof Number)) {
            throw new IllegalArgumentException("chat template: cannot apply " + op + " to " + typeName(a) + " and " + typeName(b));
        }
        Number x = num(a), y = num(b);
        boolean integral = (x instanceof Long || x instanceof Integer) && (y instanceof Long || y instanceof Integer);
        if (integral && !op.equals("/")) {
            long p = x.longValue(), q = y.longValue();
            return switch (op) {
                case "+" -> p + q;
                case "-" -> p - q;
                case "*" -> p * q;
                case "//" -> Math.floorDiv(p, q);
                default -> Math.floorMod(p, q);
            };
        }
        double p = x.doubleValue(), q = y.doubleValue();
        return switch (op) {
            case "+" -> p + q;
            case "-" -> p - q;
            case "*" -> p * q;
            case "/" -> p / q;
            case "//" -> Math.floor(p / q);
            default -> p - q * Math.floor(p / q);
        };
    }

    private static Number num(Object o) {
        if (o instanceof Number n) return n;
        if (o instanceof Boolean b) return b ? 1L : 0L;
        throw new IllegalArgumentException("chat template: " + typeName(o) + " is not a number");
    }

    private static boolean same(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) return x.doubleValue() == y.doubleValue();
        if (a == UNDEFINED || b == UNDEFINED) return a == b;
        return Objects.equals(a, b);
    }

    private static int compareValues(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) return Double.compare(x.doubleValue(), y.doubleValue());
        if (a instanceof String x && b instanceof String y) return x.compareTo(y);
        throw new IllegalArgumentException("chat template: cannot compare " + typeName(a) + " and " + typeName(b));
    }

    private static boolean truthy(Object v) {
        if (v == null || v == UNDEFINED) return false;
        if (v instanceof Boolean b) return b;
        if (v instanceof Number n) return n.doubleValue() != 0;
        if (v instanceof String s) return !s.isEmpty();
        if (v instanceof List<?> l) return !l.isEmpty();
        if (v instanceof Map<?, ?> m) return !m.isEmpty();
        return true;
    }

    private static String str(Object v) {
        if (v == null) return "None";
        if (v == UNDEFINED) return "";
        if (v instanceof Boolean b) return b ? "True" : "False";
        if (v instanceof String s) return s;
        if (v instanceof List || v instanceof Map) return toJson(v);
        return v.toString();
    }

    private static String typeName(Object v) {
        return v == null ? "none" : v == UNDEFINED ? "undefined" : v.getClass().getSimpleName();
    }

    /** JSON as Python's json.dumps writes it (", " and ": " separators, non-ASCII kept), which HF's tojson uses. */
    private static String toJson(Object v) {
        if (v == null || v == UNDEFINED) return "null";
        if (v instanceof Boolean || v instanceof Number) return v.toString();
        if (v instanceof List<?> l) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < l.size(); i++) sb.append(i > 0 ? ", " : "").append(toJson(l.get(i)));
            return sb.append(']').toString();
        }
        if (v instanceof Map<?, ?> m) {
            StringBuilder sb = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sb.append(first ? "" : ", ").append(toJson(String.valueOf(e.getKey()))).append(": ").append(toJson(e.getValue()));
                first = false;
            }
            return sb.append('}').toString();
        }
        try {
            return org.flexidepth4j.io.Json.MAPPER.writeValueAsString(v.toString());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("chat template: cannot write JSON: " + e.getOriginalMessage());
        }
    }
}
