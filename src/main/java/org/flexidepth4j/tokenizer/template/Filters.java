package org.flexidepth4j.tokenizer.template;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** jinja2's filters and tests, with HF's tojson. */
final class Filters {
    private Filters() {
    }

    private static final Set<String> FILTERS = Set.of("abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort",
            "e", "escape", "first", "float", "forceescape", "format", "indent", "int", "items", "join", "last", "length", "list", "lower",
            "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string",
            "sum", "title", "tojson", "trim", "unique", "upper", "wordcount");

    private static final Set<String> TESTS = Set.of("boolean", "callable", "defined", "divisibleby", "eq", "equalto", "==", "escaped",
            "even", "false", "filter", "float", "ge", ">=", "gt", "greaterthan", ">", "in", "integer", "iterable", "le", "<=", "lower", "lt",
            "lessthan", "<", "mapping", "ne", "!=", "none", "number", "odd", "sameas", "sequence", "string", "test", "true", "undefined",
            "upper");

    static boolean hasFilter(String name) {
        return FILTERS.contains(name);
    }

    static boolean hasTest(String name) {
        return TESTS.contains(name);
    }

    private static Object arg(List<Object> args, Map<String, Object> kwargs, int index, String name, Object otherwise) {
        if (index < args.size()) return args.get(index);
        return kwargs.getOrDefault(name, otherwise);
    }

    static Object filter(String name, Object v, List<Object> args, Map<String, Object> kwargs, Scope.Render render) {
        return switch (name) {
            case "default", "d" -> {
                Object otherwise = arg(args, kwargs, 0, "default_value", "");
                boolean onFalse = Py.truthy(arg(args, kwargs, 1, "boolean", false));
                yield v instanceof Undefined || (onFalse && !Py.truthy(v)) ? otherwise : v;
            }
            case "length", "count" -> Py.len(v);
            case "string" -> Py.str(v);
            case "safe" -> v;
            case "escape", "e", "forceescape" -> Py.str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                    .replace("\"", "&#34;").replace("'", "&#39;");
            case "trim" -> {
                Object chars = arg(args, kwargs, 0, "chars", null);
                yield Py.strip(Py.str(v), chars == null ? null : Py.str(chars), true, true);
            }
            case "upper" -> Py.str(v).toUpperCase(Locale.ROOT);
            case "lower" -> Py.str(v).toLowerCase(Locale.ROOT);
            case "capitalize" -> Methods.capitalize(Py.str(v));
            case "title" -> title(Py.str(v));
            case "replace" -> {
                Object count = arg(args, kwargs, 2, "count", null);
                yield render.checked(Methods.replace(Py.str(v), Py.str(arg(args, kwargs, 0, "old", "")), Py.str(arg(args, kwargs, 1, "new", "")),
                        count == null ? -1 : (Long) Py.numeric(count)));
            }
            case "center" -> Methods.pad(Py.str(v), "center", (Long) Py.numeric(arg(args, kwargs, 0, "width", 80L)), " ");
            case "indent" -> indent(Py.str(v), arg(args, kwargs, 0, "width", 4L), Py.truthy(arg(args, kwargs, 1, "first", false)),
                    Py.truthy(arg(args, kwargs, 2, "blank", false)), render);
            case "wordcount" -> (long) Py.iterate(Methods.method(Py.str(v), "split") instanceof PyCallable split ? split.call(List.of(), Map.of()) : List.of()).size();
            case "format" -> Methods.percentFormat(Py.str(v), kwargs.isEmpty() ? new PyTuple(args) : kwargs, render);
            case "tojson" -> tojson(v, args, kwargs, render);
            case "first" -> {
                List<Object> items = Py.iterate(v);
                yield items.isEmpty() ? new Undefined("No first item, sequence was empty.") : items.getFirst();
            }
            case "last" -> {
                if (v instanceof PyIterator) fail("'" + Py.typeName(v) + "' object is not reversible");
                List<Object> items = Py.iterate(v);
                yield items.isEmpty() ? new Undefined("No last item, sequence was empty.") : items.getLast();
            }
            case "list" -> Py.iterate(v);
            case "items" -> new PyIterator("generator", v instanceof Undefined ? new ArrayList<>()
                    : v instanceof Map<?, ?> m ? Methods.items(m) : List.of(fail("can only get item pairs from a mapping")));
            case "reverse" -> {
                if (v instanceof String s) yield new StringBuilder(s).reverse().toString();
                List<Object> items = Py.iterate(v);
                java.util.Collections.reverse(items);
                yield new PyIterator("list_reverseiterator", items);
            }
            case "join" -> {
                Object attribute = arg(args, kwargs, 1, "attribute", null);
                StringBuilder sb = new StringBuilder();
                String separator = Py.str(arg(args, kwargs, 0, "d", ""));
                List<Object> items = Py.iterate(v);
                for (int i = 0; i < items.size(); i++) {
                    sb.append(i > 0 ? separator : "").append(Py.str(attribute == null ? items.get(i) : attribute(items.get(i), attribute)));
                    render.checkLength(sb.length());
                }
                yield sb.toString();
            }
            case "int" -> toInt(v, arg(args, kwargs, 0, "default", 0L));
            case "float" -> toFloat(v, arg(args, kwargs, 0, "default", 0.0));
            case "abs" -> Py.numeric(v) instanceof Long n ? (Object) Math.abs(n) : Py.numeric(v) instanceof Double d ? (Object) Math.abs(d) : fail("bad operand type for abs()");
            case "round" -> {
                long precision = (Long) Py.numeric(arg(args, kwargs, 0, "precision", 0L));
                String method = Py.str(arg(args, kwargs, 1, "method", "common"));
                double x = ((Number) Py.numeric(v)).doubleValue(), scale = Math.pow(10, precision);
                yield switch (method) {
                    case "ceil" -> Math.ceil(x * scale) / scale;
                    case "floor" -> Math.floor(x * scale) / scale;
                    default -> new java.math.BigDecimal(x).setScale((int) precision, java.math.RoundingMode.HALF_EVEN).doubleValue();
                };
            }
            case "sum" -> {
                Object attribute = arg(args, kwargs, 0, "attribute", null);
                Object total = arg(args, kwargs, 1, "start", 0L);
                for (Object item : Py.iterate(v)) total = Operators.binary("+", total, attribute == null ? item : attribute(item, attribute), render);
                yield total;
            }
            case "min", "max" -> {
                List<Object> items = sorted(Py.iterate(v), Py.truthy(arg(args, kwargs, 0, "case_sensitive", false)), arg(args, kwargs, 1, "attribute", null));
                yield items.isEmpty() ? new Undefined("No aggregated item, sequence was empty.") : name.equals("min") ? items.getFirst() : items.getLast();
            }
            case "sort" -> {
                List<Object> items = sorted(Py.iterate(v), Py.truthy(arg(args, kwargs, 1, "case_sensitive", false)), arg(args, kwargs, 2, "attribute", null));
                if (Py.truthy(arg(args, kwargs, 0, "reverse", false))) java.util.Collections.reverse(items);
                yield items;
            }
            case "dictsort" -> dictsort(v, args, kwargs);
            case "unique" -> {
                boolean caseSensitive = Py.truthy(arg(args, kwargs, 0, "case_sensitive", false));
                Object attribute = arg(args, kwargs, 1, "attribute", null);
                List<Object> out = new ArrayList<>(), seen = new ArrayList<>();
                for (Object item : Py.iterate(v)) {
                    Object key = sortKey(attribute == null ? item : attribute(item, attribute), caseSensitive);
                    if (seen.stream().noneMatch(k -> Py.eq(k, key))) {
                        seen.add(key);
                        out.add(item);
                    }
                }
                yield new PyIterator("generator", out);
            }
            case "batch" -> {
                long size = (Long) Py.numeric(arg(args, kwargs, 0, "linecount", 1L));
                if (size < 1) fail("batch size must be positive");
                Object fill = arg(args, kwargs, 1, "fill_with", null);
                List<Object> out = new ArrayList<>();
                List<Object> items = Py.iterate(v);
                for (int i = 0; i < items.size(); i += (int) size) {
                    List<Object> row = new ArrayList<>(items.subList(i, (int) Math.min(items.size(), i + size)));
                    while (fill != null && row.size() < size) row.add(fill);
                    out.add(row);
                }
                yield new PyIterator("generator", out);
            }
            case "attr" -> Operators.getattr(v, Py.str(arg(args, kwargs, 0, "name", "")));
            case "map" -> new PyIterator("generator", map(v, args, kwargs, render));
            case "select", "reject" -> new PyIterator("generator", select(v, args, null, name.equals("select"), render));
            default -> {
                Object attribute = arg(args, kwargs, 0, "attribute", null);
                if (attribute == null) fail(name + "() needs an attribute name");
                yield new PyIterator("generator", select(v, args.size() > 1 ? args.subList(1, args.size()) : List.of(), attribute, name.equals("selectattr"), render));
            }
        };
    }

    private static Object fail(String message) {
        throw new TemplateException(message);
    }

    /** jinja2's title filter: each word after a dash, space or opening bracket starts upper-case, the rest is lower-case. */
    private static String title(String s) {
        StringBuilder sb = new StringBuilder();
        boolean wordStart = true;
        for (int c : s.codePoints().toArray()) {
            boolean separator = c == '-' || Py.isSpace(c) || c == '(' || c == '{' || c == '[' || c == '<';
            if (separator) sb.appendCodePoint(c);
            else sb.appendCodePoint(wordStart ? Character.toUpperCase(c) : Character.toLowerCase(c));
            wordStart = separator;
        }
        return sb.toString();
    }

    private static String indent(String s, Object width, boolean first, boolean blank, Scope.Render render) {
        String indentation = width instanceof String w ? w : " ".repeat((int) Math.min(Math.max(0, (Long) Py.numeric(width)), 1000));
        List<String> lines = Py.splitLines(s + "\n");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (i > 0) sb.append('\n');
            if (i > 0 && (blank || !line.isEmpty())) sb.append(indentation);
            sb.append(line);
            render.checkLength(sb.length());
        }
        return (first ? indentation : "") + sb;
    }

    /** HF's tojson: json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False). */
    private static String tojson(Object v, List<Object> args, Map<String, Object> kwargs, Scope.Render render) {
        if (v instanceof Undefined) fail("Object of type Undefined is not JSON serializable");
        boolean ascii = Py.truthy(arg(args, kwargs, 0, "ensure_ascii", false));
        Object indent = arg(args, kwargs, 1, "indent", null);
        String indentation = indent == null ? null : indent instanceof String s ? s : " ".repeat((int) Math.min(Math.max(0, (Long) Py.numeric(indent)), 1000));
        Object separators = arg(args, kwargs, 2, "separators", null);
        String item = indent == null ? ", " : ",", key = ": ";
        if (separators instanceof List<?> pair && pair.size() == 2) {
            item = Py.str(pair.get(0));
            key = Py.str(pair.get(1));
        }
        return render.checked(Py.json(v, ascii, indentation, item, key, Py.truthy(arg(args, kwargs, 3, "sort_keys", false))));
    }

    private static Object toInt(Object v, Object otherwise) {
        Object n = Py.numeric(v);
        if (n instanceof Long) return n;
        if (n instanceof Double d) return Double.isFinite(d) ? (Object) (long) (double) d : otherwise;
        if (v instanceof String s) {
            String t = Py.strip(s, null, true, true).replace("_", "");
            try {
                return Long.parseLong(t);
            } catch (NumberFormatException e) {
                try {
                    double d = Double.parseDouble(t);
                    return Double.isFinite(d) ? (Object) (long) d : otherwise;
                } catch (NumberFormatException e2) {
                    return otherwise;
                }
            }
        }
        return otherwise;
    }

    private static Object toFloat(Object v, Object otherwise) {
        Object n = Py.numeric(v);
        if (n instanceof Long l) return (double) l;
        if (n instanceof Double) return n;
        if (v instanceof String s) {
            try {
                return Double.parseDouble(Py.strip(s, null, true, true));
            } catch (NumberFormatException e) {
                return otherwise;
            }
        }
        return otherwise;
    }

    /** jinja2's make_attrgetter: "a.b.0" looks up a, then b, then item 0. */
    private static Object attribute(Object item, Object path) {
        if (path instanceof Long index) return Operators.getitem(item, index);
        Object v = item;
        for (String part : Py.str(path).split("\\.", -1)) {
            v = part.chars().allMatch(Character::isDigit) && !part.isEmpty() ? Operators.getitem(v, Long.parseLong(part)) : Operators.getitem(v, part);
        }
        return v;
    }

    private static Object sortKey(Object v, boolean caseSensitive) {
        return !caseSensitive && v instanceof String s ? s.toLowerCase(Locale.ROOT) : v;
    }

    private static List<Object> sorted(List<Object> items, boolean caseSensitive, Object attribute) {
        List<Object> out = new ArrayList<>(items);
        out.sort(Comparator.comparing((Object item) -> sortKey(attribute == null ? item : attribute(item, attribute), caseSensitive),
                (a, b) -> Py.compare(a, b, "<")));
        return out;
    }

    private static Object dictsort(Object v, List<Object> args, Map<String, Object> kwargs) {
        if (!(v instanceof Map<?, ?> m)) return fail("dictsort: expected a mapping, got " + Py.typeName(v));
        boolean caseSensitive = Py.truthy(arg(args, kwargs, 0, "case_sensitive", false));
        String by = Py.str(arg(args, kwargs, 1, "by", "key"));
        int position = switch (by) {
            case "key" -> 0;
            case "value" -> 1;
            default -> throw new TemplateException("You can only sort by either \"key\" or \"value\"");
        };
        List<Object> items = Methods.items(m);
        items.sort(Comparator.comparing((Object item) -> sortKey(((List<?>) item).get(position), caseSensitive), (a, b) -> Py.compare(a, b, "<")));
        if (Py.truthy(arg(args, kwargs, 2, "reverse", false))) java.util.Collections.reverse(items);
        return items;
    }

    private static List<Object> map(Object v, List<Object> args, Map<String, Object> kwargs, Scope.Render render) {
        List<Object> out = new ArrayList<>();
        if (!Py.truthy(v)) return out;
        if (args.isEmpty() && kwargs.containsKey("attribute")) {
            Object attribute = kwargs.get("attribute");
            Object otherwise = kwargs.get("default");
            for (Object item : Py.iterate(v)) {
                Object value = attribute(item, attribute);
                out.add(value instanceof Undefined && kwargs.containsKey("default") ? otherwise : value);
            }
            return out;
        }
        if (args.isEmpty()) fail("map requires a filter name or an attribute");
        String filter = Py.str(args.getFirst());
        if (!hasFilter(filter)) fail("no filter named '" + filter + "'");
        for (Object item : Py.iterate(v)) out.add(filter(filter, item, args.subList(1, args.size()), kwargs, render));
        return out;
    }

    private static List<Object> select(Object v, List<Object> args, Object attribute, boolean keep, Scope.Render render) {
        List<Object> out = new ArrayList<>();
        if (!Py.truthy(v)) return out;
        String test = args.isEmpty() ? null : Py.str(args.getFirst());
        if (test != null && !hasTest(test)) fail("no test named '" + test + "'");
        List<Object> testArgs = args.isEmpty() ? List.of() : args.subList(1, args.size());
        for (Object item : Py.iterate(v)) {
            Object value = attribute == null ? item : attribute(item, attribute);
            boolean passes = test == null ? Py.truthy(value) : test(test, value, testArgs, render);
            if (passes == keep) out.add(item);
        }
        return out;
    }

    static boolean test(String name, Object v, List<Object> args, Scope.Render render) {
        Object other = args.isEmpty() ? null : args.getFirst();
        return switch (name) {
            case "defined" -> !(v instanceof Undefined);
            case "undefined" -> v instanceof Undefined;
            case "none" -> v == null;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "number" -> Py.isNumber(v);
            case "string" -> v instanceof String;
            case "mapping" -> v instanceof Map;
            case "iterable" -> v instanceof List || v instanceof Map || v instanceof String || v instanceof Undefined || v instanceof PyIterator;
            case "sequence" -> v instanceof List || v instanceof Map || v instanceof String || v instanceof Undefined;
            case "callable" -> v instanceof PyCallable;
            case "escaped" -> false;
            case "lower" -> v instanceof String s && s.equals(s.toLowerCase(Locale.ROOT)) && !s.equals(s.toUpperCase(Locale.ROOT));
            case "upper" -> v instanceof String s && s.equals(s.toUpperCase(Locale.ROOT)) && !s.equals(s.toLowerCase(Locale.ROOT));
            case "even", "odd" -> {
                if (!(Py.numeric(v) instanceof Long n)) throw new TemplateException(name + " test needs an integer");
                yield (n % 2 == 0) == name.equals("even");
            }
            case "divisibleby" -> {
                if (!(Py.numeric(v) instanceof Long n) || !(Py.numeric(other) instanceof Long d) || d == 0) throw new TemplateException("divisibleby needs integers");
                yield n % d == 0;
            }
            case "eq", "equalto", "==" -> Py.eq(v, other);
            case "ne", "!=" -> !Py.eq(v, other);
            case "lt", "lessthan", "<" -> Py.compare(v, other, "<") < 0;
            case "le", "<=" -> Py.compare(v, other, "<=") <= 0;
            case "gt", "greaterthan", ">" -> Py.compare(v, other, ">") > 0;
            case "ge", ">=" -> Py.compare(v, other, ">=") >= 0;
            case "in" -> Py.contains(other, v);
            case "sameas" -> v == other || v == null && other == null || v instanceof Boolean && v.equals(other);
            case "filter" -> v instanceof String s && hasFilter(s);
            case "test" -> v instanceof String s && hasTest(s);
            default -> throw new TemplateException("no test named '" + name + "'");
        };
    }
}
