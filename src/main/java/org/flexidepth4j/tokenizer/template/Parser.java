package org.flexidepth4j.tokenizer.template;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.flexidepth4j.tokenizer.template.Lexer.Kind;
import org.flexidepth4j.tokenizer.template.Lexer.Token;

/** jinja2's grammar, parsed into closures that render (statements) or evaluate (expressions) in a scope. */
final class Parser {
    interface Expr {
        Object eval(Scope s);
    }

    interface Node {
        void render(Scope s, StringBuilder out);
    }

    /** break and continue, thrown to the loop that runs the body; without a stack trace, they cost little. */
    private static final class LoopControl extends RuntimeException {
        LoopControl() {
            super(null, null, false, false);
        }
    }

    private static final LoopControl BREAK = new LoopControl();
    private static final LoopControl CONTINUE = new LoopControl();
    /** Deeper nesting of blocks or expressions than any real template, refused before it can overflow the stack. */
    private static final int MAX_NESTING = 100;
    private static final Set<String> COMPARISONS = Set.of("==", "!=", "<", "<=", ">", ">=");

    private final List<Token> toks;
    private int pos;
    private int nesting;
    private int loops;

    private Parser(List<Token> toks) {
        this.toks = toks;
    }

    static List<Node> parse(String source) {
        return new Parser(Lexer.lex(source)).subparse(Set.of());
    }

    static void renderAll(List<Node> nodes, Scope s, StringBuilder out) {
        for (Node n : nodes) n.render(s, out);
    }

    // ---------------------------------------------------------------- tokens

    private Token peek() {
        return toks.get(pos);
    }

    private Token peek2() {
        return toks.get(Math.min(pos + 1, toks.size() - 1));
    }

    private Token next() {
        Token t = toks.get(pos);
        if (t.kind() != Kind.EOF) pos++;
        return t;
    }

    private TemplateException error(Token t, String message) {
        return new TemplateException("line " + t.line() + ": " + message);
    }

    private boolean skipOp(String op) {
        if (!peek().isOp(op)) return false;
        pos++;
        return true;
    }

    private boolean skipName(String name) {
        if (!peek().isName(name)) return false;
        pos++;
        return true;
    }

    private void expectOp(String op) {
        if (!skipOp(op)) throw error(peek(), "expected '" + op + "', got '" + peek().text() + "'");
    }

    private void expectName(String name) {
        if (!skipName(name)) throw error(peek(), "expected '" + name + "', got '" + peek().text() + "'");
    }

    private String name() {
        Token t = next();
        if (t.kind() != Kind.NAME) throw error(t, "expected a name, got '" + t.text() + "'");
        return t.text();
    }

    private void blockEnd() {
        Token t = next();
        if (t.kind() != Kind.BLOCK_END) throw error(t, "expected the end of the tag, got '" + t.text() + "'");
    }

    private void enter(Token at) {
        if (++nesting > MAX_NESTING) throw error(at, "nested deeper than " + MAX_NESTING + " levels");
    }

    // ---------------------------------------------------------------- statements

    /** Nodes up to a block tag named in ends (left as the next token) or the end of the template. */
    private List<Node> subparse(Set<String> ends) {
        enter(peek());
        List<Node> nodes = new ArrayList<>();
        while (true) {
            Token t = next();
            switch (t.kind()) {
                case DATA -> {
                    String text = t.text();
                    nodes.add((s, out) -> s.render.write(out, text));
                }
                case VAR_BEGIN -> {
                    Expr e = tuple(true, Set.of());
                    if (next().kind() != Kind.VAR_END) throw error(toks.get(pos - 1), "expected '}}', got '" + toks.get(pos - 1).text() + "'");
                    nodes.add((s, out) -> s.render.write(out, Py.str(e.eval(s))));
                }
                case BLOCK_BEGIN -> {
                    if (peek().kind() == Kind.NAME && ends.contains(peek().text())) {
                        nesting--;
                        return nodes;
                    }
                    nodes.add(statement());
                }
                case EOF -> {
                    if (!ends.isEmpty()) throw error(t, "unexpected end of template, expected one of " + new java.util.TreeSet<>(ends));
                    nesting--;
                    return nodes;
                }
                default -> throw error(t, "unexpected '" + t.text() + "'");
            }
        }
    }

    /** The body of a block, its end tag and the tag's closing "%}". */
    private List<Node> body(String end) {
        List<Node> body = subparse(Set.of(end));
        next();
        blockEnd();
        return body;
    }

    private Node statement() {
        Token kw = next();
        if (kw.kind() != Kind.NAME) throw error(kw, "expected a tag name, got '" + kw.text() + "'");
        return switch (kw.text()) {
            case "if" -> ifStatement();
            case "for" -> forStatement();
            case "set" -> setStatement();
            case "macro" -> macroStatement();
            case "call" -> callStatement();
            case "filter" -> filterStatement();
            case "with" -> withStatement();
            case "generation" -> {
                // HF's AssistantTracker tag: marks the assistant's text for training masks and renders it unchanged
                blockEnd();
                List<Node> body = body("endgeneration");
                yield (s, out) -> renderAll(body, s, out);
            }
            case "break", "continue" -> {
                if (loops == 0) throw error(kw, "'" + kw.text() + "' outside of a loop");
                blockEnd();
                LoopControl control = kw.text().equals("break") ? BREAK : CONTINUE;
                yield (s, out) -> {
                    throw control;
                };
            }
            default -> throw error(kw, "unknown tag '" + kw.text() + "'");
        };
    }

    private Node ifStatement() {
        List<Expr> conditions = new ArrayList<>();
        List<List<Node>> bodies = new ArrayList<>();
        conditions.add(tuple(false, Set.of()));
        blockEnd();
        bodies.add(subparse(Set.of("elif", "else", "endif")));
        List<Node> otherwise = List.of();
        while (true) {
            String kw = next().text();
            if (kw.equals("elif")) {
                conditions.add(tuple(false, Set.of()));
                blockEnd();
                bodies.add(subparse(Set.of("elif", "else", "endif")));
            } else if (kw.equals("else")) {
                blockEnd();
                otherwise = subparse(Set.of("endif"));
            } else {
                blockEnd();
                break;
            }
        }
        List<Node> elseBody = otherwise;
        return (s, out) -> {
            for (int i = 0; i < conditions.size(); i++) {
                if (Py.truthy(conditions.get(i).eval(s))) {
                    renderAll(bodies.get(i), s, out);
                    return;
                }
            }
            renderAll(elseBody, s, out);
        };
    }

    private Node forStatement() {
        Token at = peek();
        Target target = target(false, Set.of("in"));
        expectName("in");
        Expr iterable = tuple(false, Set.of("recursive"));
        Expr filter = skipName("if") ? expression(true) : null;
        if (peek().isName("recursive")) throw error(peek(), "recursive loops are not supported");
        blockEnd();
        loops++;
        List<Node> body = subparse(Set.of("endfor", "else"));
        loops--;
        List<Node> otherwise = List.of();
        if (next().text().equals("else")) {
            blockEnd();
            otherwise = body("endfor");
        } else {
            blockEnd();
        }
        List<Node> elseBody = otherwise;
        return (s, out) -> {
            List<Object> items = Py.iterate(iterable.eval(s));
            if (filter != null) {
                List<Object> kept = new ArrayList<>();
                for (Object item : items) {
                    s.render.iteration();
                    Scope probe = new Scope(s);
                    target.assign(probe, item, at);
                    if (Py.truthy(filter.eval(probe))) kept.add(item);
                }
                items = kept;
            }
            if (items.isEmpty()) {
                renderAll(elseBody, new Scope(s), out);
                return;
            }
            int depth = s.lookup("loop") instanceof Loop outer ? outer.depth + 1 : 1;
            for (int i = 0; i < items.size(); i++) {
                s.render.iteration();
                Scope inner = new Scope(s);
                target.assign(inner, items.get(i), at);
                inner.vars.put("loop", new Loop(items, i, depth));
                try {
                    renderAll(body, inner, out);
                } catch (LoopControl control) {
                    if (control == BREAK) break;
                }
            }
        };
    }

    /** Where a set, for or with puts a value: a name, names to unpack a sequence into, or a namespace attribute. */
    private interface Target {
        void assign(Scope s, Object value, Token at);
    }

    private Target target(boolean namespaceAllowed, Set<String> ends) {
        Token first = peek();
        String name = name();
        if (namespaceAllowed && skipOp(".")) {
            String attribute = name();
            return (s, value, at) -> {
                if (!(s.lookup(name) instanceof Namespace ns)) throw error(at, "cannot assign attribute on non-namespace object '" + name + "'");
                ns.attributes.put(attribute, value);
            };
        }
        if (!peek().isOp(",")) return (s, value, at) -> s.vars.put(name, value);
        List<String> names = new ArrayList<>(List.of(name));
        while (skipOp(",")) {
            if (peek().kind() != Kind.NAME || ends.contains(peek().text())) break;
            names.add(name());
        }
        if (names.isEmpty()) throw error(first, "expected a name");
        return (s, value, at) -> {
            List<Object> values = Py.iterate(value);
            if (values.size() != names.size()) {
                throw error(at, (values.size() > names.size() ? "too many" : "not enough") + " values to unpack (expected " + names.size() + ", got " + values.size() + ")");
            }
            for (int i = 0; i < names.size(); i++) s.vars.put(names.get(i), values.get(i));
        };
    }

    private Node setStatement() {
        Token at = peek();
        Target target = target(true, Set.of());
        if (skipOp("=")) {
            Expr value = tuple(true, Set.of());
            blockEnd();
            return (s, out) -> target.assign(s, value.eval(s), at);
        }
        List<FilterCall> filters = new ArrayList<>();
        while (skipOp("|")) filters.add(filterCall());
        blockEnd();
        List<Node> body = body("endset");
        return (s, out) -> target.assign(s, capture(body, filters, s), at);
    }

    /** What a block renders, through a chain of filters (block set, filter block). */
    private static Object capture(List<Node> body, List<FilterCall> filters, Scope s) {
        StringBuilder captured = new StringBuilder();
        renderAll(body, s, captured);
        Object value = captured.toString();
        for (FilterCall f : filters) value = f.apply(value, s);
        return value;
    }

    private record Signature(List<String> params, List<Expr> defaults) {
    }

    private Signature signature() {
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        expectOp("(");
        while (!peek().isOp(")")) {
            if (!params.isEmpty()) expectOp(",");
            if (peek().isOp(")")) break;
            params.add(name());
            defaults.add(skipOp("=") ? expression(true) : null);
        }
        expectOp(")");
        return new Signature(params, defaults);
    }

    private Node macroStatement() {
        String name = name();
        Signature signature = signature();
        blockEnd();
        int outerLoops = loops;
        loops = 0;
        List<Node> body = body("endmacro");
        loops = outerLoops;
        return (s, out) -> s.vars.put(name, new Macro(name, signature.params, signature.defaults, body, s));
    }

    private Node callStatement() {
        Signature signature = peek().isOp("(") ? signature() : new Signature(List.of(), List.of());
        Token at = peek();
        Expr expr = expression(true);
        if (!(expr instanceof CallExpr call)) throw error(at, "expected a call after {% call %}");
        blockEnd();
        List<Node> body = body("endcall");
        return (s, out) -> {
            Macro caller = new Macro("caller", signature.params, signature.defaults, body, s);
            s.render.write(out, Py.str(call.invoke(s, caller)));
        };
    }

    private Node filterStatement() {
        List<FilterCall> filters = new ArrayList<>(List.of(filterCall()));
        while (skipOp("|")) filters.add(filterCall());
        blockEnd();
        List<Node> body = body("endfilter");
        return (s, out) -> s.render.write(out, Py.str(capture(body, filters, s)));
    }

    private Node withStatement() {
        List<Target> targets = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        List<Token> ats = new ArrayList<>();
        while (peek().kind() != Kind.BLOCK_END) {
            if (!targets.isEmpty()) expectOp(",");
            ats.add(peek());
            targets.add(target(false, Set.of()));
            expectOp("=");
            values.add(expression(true));
        }
        blockEnd();
        List<Node> body = body("endwith");
        return (s, out) -> {
            Scope inner = new Scope(s);
            for (int i = 0; i < targets.size(); i++) targets.get(i).assign(inner, values.get(i).eval(s), ats.get(i));
            renderAll(body, inner, out);
        };
    }

    // ---------------------------------------------------------------- expressions

    /** Comma-separated expressions: one is itself, several a tuple. */
    private Expr tuple(boolean withCondexpr, Set<String> extraEnds) {
        List<Expr> items = new ArrayList<>();
        boolean isTuple = false;
        while (true) {
            if (!items.isEmpty()) expectOp(",");
            Token t = peek();
            if (t.kind() == Kind.VAR_END || t.kind() == Kind.BLOCK_END || t.isOp(")") || t.kind() == Kind.NAME && extraEnds.contains(t.text())) break;
            items.add(expression(withCondexpr));
            if (peek().isOp(",")) isTuple = true;
            else break;
        }
        if (items.isEmpty()) throw error(peek(), "expected an expression, got '" + peek().text() + "'");
        if (!isTuple) return items.getFirst();
        return s -> new PyTuple(evalAll(items, s));
    }

    private static List<Object> evalAll(List<Expr> exprs, Scope s) {
        List<Object> out = new ArrayList<>(exprs.size());
        for (Expr e : exprs) out.add(e.eval(s));
        return out;
    }

    private Expr expression(boolean withCondexpr) {
        return withCondexpr ? condexpr() : or();
    }

    private Expr condexpr() {
        Expr e = or();
        while (skipName("if")) {
            Expr condition = or();
            Expr otherwise = skipName("else") ? condexpr() : null;
            Expr then = e;
            e = s -> Py.truthy(condition.eval(s)) ? then.eval(s)
                    : otherwise != null ? otherwise.eval(s) : new Undefined("the inline if-expression evaluated to false and no else section was defined");
        }
        return e;
    }

    private Expr or() {
        Expr left = and();
        while (skipName("or")) {
            Expr l = left, r = and();
            left = s -> {
                Object a = l.eval(s);
                return Py.truthy(a) ? a : r.eval(s);
            };
        }
        return left;
    }

    private Expr and() {
        Expr left = not();
        while (skipName("and")) {
            Expr l = left, r = not();
            left = s -> {
                Object a = l.eval(s);
                return Py.truthy(a) ? r.eval(s) : a;
            };
        }
        return left;
    }

    private Expr not() {
        if (peek().isName("not")) {
            Token at = next();
            enter(at);
            Expr e = not();
            nesting--;
            return s -> !Py.truthy(e.eval(s));
        }
        return compare();
    }

    private Expr compare() {
        Expr first = math1();
        List<String> ops = new ArrayList<>();
        List<Expr> operands = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.kind() == Kind.OP && COMPARISONS.contains(t.text())) {
                ops.add(next().text());
            } else if (t.isName("in")) {
                next();
                ops.add("in");
            } else if (t.isName("not") && peek2().isName("in")) {
                pos += 2;
                ops.add("not in");
            } else {
                break;
            }
            operands.add(math1());
        }
        if (ops.isEmpty()) return first;
        return s -> {
            Object a = first.eval(s);
            for (int i = 0; i < ops.size(); i++) {
                Object b = operands.get(i).eval(s);
                if (!Operators.compare(ops.get(i), a, b)) return false;
                a = b;
            }
            return true;
        };
    }

    private Expr binary(Expr left, String op, Expr right) {
        return s -> Operators.binary(op, left.eval(s), right.eval(s), s.render);
    }

    private Expr math1() {
        Expr left = concat();
        while (peek().isOp("+") || peek().isOp("-")) {
            String op = next().text();
            left = binary(left, op, concat());
        }
        return left;
    }

    private Expr concat() {
        Expr left = math2();
        while (skipOp("~")) {
            Expr l = left, r = math2();
            left = s -> s.render.checked(Py.str(l.eval(s)) + Py.str(r.eval(s)));
        }
        return left;
    }

    private Expr math2() {
        Expr left = pow();
        while (peek().isOp("*") || peek().isOp("/") || peek().isOp("//") || peek().isOp("%")) {
            String op = next().text();
            left = binary(left, op, pow());
        }
        return left;
    }

    private Expr pow() {
        Expr left = unary(true);
        while (skipOp("**")) left = binary(left, "**", unary(true));
        return left;
    }

    private Expr unary(boolean withFilter) {
        Token at = peek();
        enter(at);
        Expr e;
        if (skipOp("-")) {
            Expr operand = unary(false);
            e = s -> Operators.negate(operand.eval(s));
        } else if (skipOp("+")) {
            Expr operand = unary(false);
            e = s -> Operators.binary("+", 0L, operand.eval(s), s.render);
        } else {
            e = postfix(primary());
        }
        if (withFilter) e = filterExpr(e);
        nesting--;
        return e;
    }

    private Expr primary() {
        Token t = next();
        switch (t.kind()) {
            case NAME -> {
                return switch (t.text()) {
                    case "true", "True" -> s -> true;
                    case "false", "False" -> s -> false;
                    case "none", "None" -> s -> null;
                    default -> {
                        String name = t.text();
                        yield s -> {
                            Object v = s.lookup(name);
                            if (v != Scope.MISSING) return v;
                            Object global = Methods.global(name, s.render);
                            return global != null ? global : Undefined.name(name);
                        };
                    }
                };
            }
            case STRING -> {
                StringBuilder sb = new StringBuilder(t.text());
                while (peek().kind() == Kind.STRING) sb.append(next().text());
                String value = sb.toString();
                return s -> value;
            }
            case INT -> {
                try {
                    long value = Long.parseLong(t.text());
                    return s -> value;
                } catch (NumberFormatException e) {
                    throw error(t, "integer " + t.text() + " is too large");
                }
            }
            case FLOAT -> {
                double value = Double.parseDouble(t.text());
                return s -> value;
            }
            case OP -> {
                switch (t.text()) {
                    case "(" -> {
                        if (skipOp(")")) return s -> new PyTuple(List.of());
                        Expr e = tuple(true, Set.of());
                        expectOp(")");
                        return e;
                    }
                    case "[" -> {
                        List<Expr> items = new ArrayList<>();
                        while (!peek().isOp("]")) {
                            if (!items.isEmpty()) expectOp(",");
                            if (peek().isOp("]")) break;
                            items.add(expression(true));
                        }
                        expectOp("]");
                        return s -> evalAll(items, s);
                    }
                    case "{" -> {
                        List<Expr> keys = new ArrayList<>();
                        List<Expr> values = new ArrayList<>();
                        while (!peek().isOp("}")) {
                            if (!keys.isEmpty()) expectOp(",");
                            if (peek().isOp("}")) break;
                            keys.add(expression(true));
                            expectOp(":");
                            values.add(expression(true));
                        }
                        expectOp("}");
                        return s -> {
                            Map<Object, Object> map = new LinkedHashMap<>();
                            for (int i = 0; i < keys.size(); i++) map.put(Operators.key(keys.get(i).eval(s)), values.get(i).eval(s));
                            return map;
                        };
                    }
                    default -> {
                    }
                }
            }
            default -> {
            }
        }
        throw error(t, "unexpected '" + t.text() + "'");
    }

    private Expr postfix(Expr node) {
        while (true) {
            if (skipOp(".")) {
                Token t = next();
                if (t.kind() == Kind.NAME) {
                    Expr target = node;
                    String name = t.text();
                    node = s -> Operators.getattr(target.eval(s), name);
                } else if (t.kind() == Kind.INT) {
                    Expr target = node;
                    long index = Long.parseLong(t.text());
                    node = s -> Operators.getitem(target.eval(s), index);
                } else {
                    throw error(t, "expected a name after '.', got '" + t.text() + "'");
                }
            } else if (skipOp("[")) {
                node = subscript(node);
            } else if (peek().isOp("(")) {
                node = call(node);
            } else {
                return node;
            }
        }
    }

    private Expr subscript(Expr target) {
        Expr[] slice = null;
        Expr index = null;
        if (!peek().isOp(":")) index = expression(true);
        if (peek().isOp(":")) {
            next();
            slice = new Expr[] {index, null, null};
            if (!peek().isOp("]") && !peek().isOp(":")) slice[1] = expression(true);
            if (skipOp(":") && !peek().isOp("]")) slice[2] = expression(true);
        }
        expectOp("]");
        if (slice == null) {
            Expr key = index;
            return s -> Operators.getitem(target.eval(s), key.eval(s));
        }
        Expr[] bounds = slice;
        return s -> Operators.slice(target.eval(s), value(bounds[0], s), value(bounds[1], s), value(bounds[2], s));
    }

    private static Object value(Expr e, Scope s) {
        return e == null ? null : e.eval(s);
    }

    /** A call's arguments: positional, name=value, *list and **dict. */
    private record Arguments(List<Expr> positional, List<String> names, List<Expr> named, Expr star, Expr starStar) {
        List<Object> positional(Scope s) {
            List<Object> args = evalAll(positional, s);
            if (star != null) args.addAll(Py.iterate(star.eval(s)));
            return args;
        }

        Map<String, Object> named(Scope s) {
            Map<String, Object> kwargs = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) kwargs.put(names.get(i), named.get(i).eval(s));
            if (starStar != null) {
                if (!(starStar.eval(s) instanceof Map<?, ?> m)) throw new TemplateException("argument after ** must be a mapping");
                m.forEach((k, v) -> kwargs.put(Py.str(k), v));
            }
            return kwargs;
        }
    }

    private Arguments arguments() {
        expectOp("(");
        List<Expr> positional = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Expr> named = new ArrayList<>();
        Expr star = null, starStar = null;
        boolean first = true;
        while (!peek().isOp(")")) {
            if (!first) {
                expectOp(",");
                if (peek().isOp(")")) break;
            }
            first = false;
            if (skipOp("**")) {
                starStar = expression(true);
            } else if (skipOp("*")) {
                star = expression(true);
            } else if (peek().kind() == Kind.NAME && peek2().isOp("=")) {
                names.add(next().text());
                next();
                named.add(expression(true));
            } else {
                positional.add(expression(true));
            }
        }
        expectOp(")");
        return new Arguments(positional, names, named, star, starStar);
    }

    /** A call, kept apart so that {% call %} can add its caller. */
    private record CallExpr(Expr callee, Arguments arguments) implements Expr {
        @Override
        public Object eval(Scope s) {
            return invoke(s, null);
        }

        Object invoke(Scope s, Macro caller) {
            Object f = callee.eval(s);
            List<Object> args = arguments.positional(s);
            Map<String, Object> kwargs = arguments.named(s);
            if (caller != null) kwargs.put("caller", caller);
            if (f instanceof Undefined u) throw u.error();
            if (!(f instanceof PyCallable c)) throw new TemplateException("'" + Py.typeName(f) + "' object is not callable");
            return c.call(args, kwargs);
        }
    }

    private Expr call(Expr callee) {
        return new CallExpr(callee, arguments());
    }

    private Expr filterExpr(Expr node) {
        while (true) {
            if (skipOp("|")) {
                FilterCall f = filterCall();
                Expr input = node;
                node = s -> f.apply(input.eval(s), s);
            } else if (skipName("is")) {
                node = test(node);
            } else if (peek().isOp("(")) {
                node = call(node);
            } else {
                return node;
            }
        }
    }

    private String dottedName() {
        StringBuilder name = new StringBuilder(name());
        while (peek().isOp(".") && peek2().kind() == Kind.NAME) {
            next();
            name.append('.').append(name());
        }
        return name.toString();
    }

    /** One filter of a chain, with its arguments. */
    private record FilterCall(String name, Arguments arguments) {
        Object apply(Object value, Scope s) {
            return Filters.filter(name, value, arguments == null ? List.of() : arguments.positional(s),
                    arguments == null ? Map.of() : arguments.named(s), s.render);
        }
    }

    private FilterCall filterCall() {
        Token at = peek();
        String name = dottedName();
        if (!Filters.hasFilter(name)) throw error(at, "no filter named '" + name + "'");
        return new FilterCall(name, peek().isOp("(") ? arguments() : null);
    }

    private Expr test(Expr node) {
        boolean negated = skipName("not");
        Token at = peek();
        String name = dottedName();
        if (!Filters.hasTest(name)) throw error(at, "no test named '" + name + "'");
        Arguments arguments = null;
        Token t = peek();
        if (t.isOp("(")) {
            arguments = arguments();
        } else if ((t.kind() == Kind.NAME || t.kind() == Kind.STRING || t.kind() == Kind.INT || t.kind() == Kind.FLOAT || t.isOp("(") || t.isOp("[") || t.isOp("{"))
                && !t.isName("else") && !t.isName("or") && !t.isName("and")) {
            if (t.isName("is")) throw error(t, "you cannot chain multiple tests with is");
            arguments = new Arguments(List.of(postfix(primary())), List.of(), List.of(), null, null);
        }
        Arguments args = arguments;
        return s -> {
            List<Object> values = args == null ? List.of() : args.positional(s);
            boolean result = Filters.test(name, node.eval(s), values, s.render);
            return negated != result;
        };
    }
}
