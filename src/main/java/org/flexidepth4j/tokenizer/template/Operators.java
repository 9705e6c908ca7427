package org.flexidepth4j.tokenizer.template;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Python's operators on template values, and jinja2's attribute and item lookup. */
final class Operators {
    private Operators() {
    }

    static boolean compare(String op, Object a, Object b) {
        return switch (op) {
            case "==" -> Py.eq(a, b);
            case "!=" -> !Py.eq(a, b);
            case "<" -> Py.compare(a, b, op) < 0;
            case "<=" -> Py.compare(a, b, op) <= 0;
            case ">" -> Py.compare(a, b, op) > 0;
            case ">=" -> Py.compare(a, b, op) >= 0;
            case "in" -> Py.contains(b, a);
            default -> !Py.contains(b, a);
        };
    }

    static Object negate(Object v) {
        if (v instanceof Undefined u) throw u.error();
        Object n = Py.numeric(v);
        if (n instanceof Long x) {
            if (x == Long.MIN_VALUE) throw new TemplateException("integer overflow");
            return -x;
        }
        if (n instanceof Double x) return -x;
        throw new TemplateException("bad operand type for unary -: '" + Py.typeName(v) + "'");
    }

    static Object binary(String op, Object a, Object b, Scope.Render render) {
        if (a instanceof Undefined u) throw u.error();
        if (b instanceof Undefined u) throw u.error();
        if (op.equals("+") && a instanceof String x && b instanceof String y) {
            render.checkLength((long) x.length() + y.length());
            return x + y;
        }
        if (op.equals("+") && a instanceof List<?> x && b instanceof List<?> y && (a instanceof PyTuple) == (b instanceof PyTuple)) {
            List<Object> out = new ArrayList<>(render.checkedSize((long) x.size() + y.size()));
            out.addAll(x);
            out.addAll(y);
            return a instanceof PyTuple ? new PyTuple(out) : out;
        }
        if (op.equals("*") && (a instanceof String || a instanceof List) && b instanceof Long n) return repeat(a, n, render);
        if (op.equals("*") && (b instanceof String || b instanceof List) && a instanceof Long n) return repeat(b, n, render);
        if (op.equals("%") && a instanceof String format) return Methods.percentFormat(format, b, render);
        if (!Py.isNumber(a) || !Py.isNumber(b)) {
            throw new TemplateException("unsupported operand type(s) for " + op + ": '" + Py.typeName(a) + "' and '" + Py.typeName(b) + "'");
        }
        Object x = Py.numeric(a), y = Py.numeric(b);
        if (x instanceof Long p && y instanceof Long q && !op.equals("/")) return integer(op, p, q);
        double p = ((Number) x).doubleValue(), q = ((Number) y).doubleValue();
        if (q == 0 && (op.equals("/") || op.equals("//") || op.equals("%"))) throw new TemplateException("division by zero");
        return switch (op) {
            case "+" -> p + q;
            case "-" -> p - q;
            case "*" -> p * q;
            case "/" -> p / q;
            case "//" -> Math.floor(p / q);
            case "%" -> p - q * Math.floor(p / q);
            default -> Math.pow(p, q);
        };
    }

    private static Object integer(String op, long p, long q) {
        try {
            return switch (op) {
                case "+" -> Math.addExact(p, q);
                case "-" -> Math.subtractExact(p, q);
                case "*" -> Math.multiplyExact(p, q);
                case "//", "%" -> {
                    if (q == 0) throw new TemplateException("integer division or modulo by zero");
                    yield op.equals("//") ? Math.floorDiv(p, q) : Math.floorMod(p, q);
                }
                default -> {
                    if (q < 0) yield Math.pow(p, q);
                    long r = 1;
                    for (long i = 0; i < q; i++) {
                        r = Math.multiplyExact(r, p);
                        if (r == 0 || r == 1 && p == 1) break;
                    }
                    yield p == -1 ? (q % 2 == 0 ? 1L : -1L) : r;
                }
            };
        } catch (ArithmeticException e) {
            throw new TemplateException("integer overflow in " + p + " " + op + " " + q);
        }
    }

    private static Object repeat(Object sequence, long times, Scope.Render render) {
        long n = Math.max(0, times);
        if (sequence instanceof String s) {
            render.checkLength(n * s.length());
            return s.repeat((int) n);
        }
        List<?> l = (List<?>) sequence;
        List<Object> out = new ArrayList<>(render.checkedSize(n * l.size()));
        for (long i = 0; i < n; i++) out.addAll(l);
        return sequence instanceof PyTuple ? new PyTuple(out) : out;
    }

    /** A dict key as Python hashes it: True and 1 are one key, so ints stay Long. */
    static Object key(Object k) {
        if (k instanceof Boolean b) return b ? 1L : 0L;
        if (k instanceof Double d && d == Math.rint(d) && !Double.isInfinite(d)) return (long) (double) d;
        if (k instanceof List && !(k instanceof PyTuple)) throw new TemplateException("unhashable type: 'list'");
        if (k instanceof Map) throw new TemplateException("unhashable type: 'dict'");
        return k;
    }

    /** obj.name: an attribute (method, namespace or loop field) first, else the item of that name. */
    static Object getattr(Object obj, String name) {
        if (obj instanceof Undefined u) throw u.error();
        Object attribute = attribute(obj, name);
        if (attribute != Scope.MISSING) return attribute;
        Object item = item(obj, name);
        return item != Scope.MISSING ? item : Undefined.attribute(obj, name);
    }

    /** obj[key]: the item first, else for a string key the attribute of that name. */
    static Object getitem(Object obj, Object key) {
        if (obj instanceof Undefined u) throw u.error();
        Object item = item(obj, key);
        if (item != Scope.MISSING) return item;
        if (key instanceof String name) {
            Object attribute = attribute(obj, name);
            if (attribute != Scope.MISSING) return attribute;
        }
        return obj instanceof List || obj instanceof String ? new Undefined("'" + Py.typeName(obj) + " object' has no element " + Py.repr(key))
                : Undefined.attribute(obj, key);
    }

    private static Object attribute(Object obj, String name) {
        if (obj instanceof Namespace ns) return ns.attributes.getOrDefault(name, Scope.MISSING);
        if (obj instanceof Loop loop) return loop.attribute(name);
        return Methods.method(obj, name);
    }

    private static Object item(Object obj, Object key) {
        if (obj instanceof Map<?, ?> m) {
            Object k = key instanceof List || key instanceof Map ? key : key(key);
            return m.containsKey(k) ? m.get(k) : Scope.MISSING;
        }
        if ((obj instanceof List || obj instanceof String) && (key instanceof Long || key instanceof Boolean)) {
            long i = (Long) Py.numeric(key);
            if (obj instanceof List<?> l) {
                if (i < 0) i += l.size();
                return i >= 0 && i < l.size() ? l.get((int) i) : Scope.MISSING;
            }
            String s = (String) obj;
            int n = Py.length(s);
            if (i < 0) i += n;
            return i >= 0 && i < n ? Py.codePoints(s, (int) i, (int) i + 1) : Scope.MISSING;
        }
        return Scope.MISSING;
    }

    /** Python's seq[start:stop:step] on a list, tuple or string. */
    static Object slice(Object obj, Object start, Object stop, Object step) {
        if (obj instanceof Undefined u) throw u.error();
        List<Object> items;
        if (obj instanceof String s) items = Py.iterate(s);
        else if (obj instanceof List<?> l) items = new ArrayList<>(l);
        else throw new TemplateException("'" + Py.typeName(obj) + "' object is not subscriptable");
        int n = items.size();
        long by = step == null ? 1 : index(step);
        if (by == 0) throw new TemplateException("slice step cannot be zero");
        long from, to;
        if (by > 0) {
            from = start == null ? 0 : clamp(index(start), n, 0, n);
            to = stop == null ? n : clamp(index(stop), n, 0, n);
        } else {
            from = start == null ? n - 1 : clamp(index(start), n, -1, n - 1);
            to = stop == null ? -1 : clamp(index(stop), n, -1, n - 1);
        }
        List<Object> out = new ArrayList<>();
        for (long i = from; by > 0 ? i < to : i > to; i += by) out.add(items.get((int) i));
        if (obj instanceof String) {
            StringBuilder sb = new StringBuilder();
            for (Object c : out) sb.append((String) c);
            return sb.toString();
        }
        return obj instanceof PyTuple ? new PyTuple(out) : out;
    }

    private static long index(Object v) {
        if (v instanceof Long || v instanceof Boolean) return (Long) Py.numeric(v);
        throw new TemplateException("slice indices must be integers or None, not " + Py.typeName(v));
    }

    private static long clamp(long i, int n, long low, long high) {
        if (i < 0) i += n;
        return Math.max(low, Math.min(high, i));
    }
}
