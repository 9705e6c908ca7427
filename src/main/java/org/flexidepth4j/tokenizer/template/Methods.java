package org.flexidepth4j.tokenizer.template;

import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Python's str, dict and list methods that templates call, and the globals HF's environment defines. */
final class Methods {
    private Methods() {
    }

    /** What ImmutableSandboxedEnvironment refuses: methods that change a list or a dict. */
    private static final Set<String> MUTATING = Set.of("append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear",
            "popitem", "update", "setdefault");

    /** obj.name as a bound method, or MISSING. */
    static Object method(Object obj, String name) {
        if (obj instanceof String s) return STRING_METHODS.contains(name) ? (PyCallable) (args, kwargs) -> stringMethod(s, name, args) : Scope.MISSING;
        if ((obj instanceof Map || obj instanceof List) && MUTATING.contains(name)) {
            return (PyCallable) (args, kwargs) -> {
                throw new TemplateException("access to attribute '" + name + "' of '" + Py.typeName(obj) + "' object is unsafe");
            };
        }
        if (obj instanceof Map<?, ?> m) {
            return switch (name) {
                case "items" -> (PyCallable) (args, kwargs) -> items(m);
                case "keys" -> (PyCallable) (args, kwargs) -> new ArrayList<Object>(m.keySet());
                case "values" -> (PyCallable) (args, kwargs) -> new ArrayList<Object>(m.values());
                case "get" -> (PyCallable) (args, kwargs) -> {
                    Object key = arg(args, 0, "get");
                    Object k = key instanceof String ? key : Operators.key(key);
                    return m.containsKey(k) ? m.get(k) : args.size() > 1 ? args.get(1) : null;
                };
                case "copy" -> (PyCallable) (args, kwargs) -> new LinkedHashMap<Object, Object>(m);
                default -> Scope.MISSING;
            };
        }
        if (obj instanceof List<?> l) {
            return switch (name) {
                case "index" -> (PyCallable) (args, kwargs) -> {
                    for (int i = 0; i < l.size(); i++) if (Py.eq(l.get(i), arg(args, 0, "index"))) return (long) i;
                    throw new TemplateException(Py.repr(args.getFirst()) + " is not in list");
                };
                case "count" -> (PyCallable) (args, kwargs) -> l.stream().filter(x -> Py.eq(x, arg(args, 0, "count"))).count();
                case "copy" -> (PyCallable) (args, kwargs) -> new ArrayList<Object>(l);
                default -> Scope.MISSING;
            };
        }
        return Scope.MISSING;
    }

    static List<Object> items(Map<?, ?> m) {
        List<Object> out = new ArrayList<>();
        m.forEach((k, v) -> out.add(new PyTuple(java.util.Arrays.asList(k, v))));
        return out;
    }

    private static Object arg(List<Object> args, int i, String method) {
        if (i >= args.size()) throw new TemplateException(method + "() takes at least " + (i + 1) + " argument(s)");
        return args.get(i);
    }

    private static String stringArg(List<Object> args, int i, String method) {
        Object v = arg(args, i, method);
        if (!(v instanceof String s)) throw new TemplateException(method + "() argument must be str, not " + Py.typeName(v));
        return s;
    }

    private static final Set<String> STRING_METHODS = Set.of("strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith",
            "endswith", "upper", "lower", "title", "capitalize", "swapcase", "casefold", "replace", "find", "rfind", "index", "rindex",
            "count", "join", "format", "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper", "isnumeric", "isdecimal",
            "zfill", "center", "ljust", "rjust", "partition", "rpartition", "removeprefix", "removesuffix");

    private static Object stringMethod(String s, String name, List<Object> args) {
        return switch (name) {
            case "strip", "lstrip", "rstrip" -> {
                String chars = args.isEmpty() || args.getFirst() == null ? null : stringArg(args, 0, name);
                yield Py.strip(s, chars, !name.equals("rstrip"), !name.equals("lstrip"));
            }
            case "split", "rsplit" -> split(s, args.isEmpty() || args.getFirst() == null ? null : stringArg(args, 0, name),
                    args.size() > 1 ? (Long) Py.numeric(args.get(1)) : -1, name.equals("rsplit"));
            case "splitlines" -> new ArrayList<Object>(Py.splitLines(s));
            case "startswith", "endswith" -> {
                Object prefix = arg(args, 0, name);
                List<Object> options = prefix instanceof PyTuple t ? t : List.of(prefix);
                boolean any = false;
                for (Object o : options) {
                    if (!(o instanceof String p)) throw new TemplateException(name + " first arg must be str or a tuple of str, not " + Py.typeName(o));
                    any |= name.equals("startswith") ? s.startsWith(p) : s.endsWith(p);
                }
                yield any;
            }
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "casefold" -> s.toUpperCase(Locale.ROOT).toLowerCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> capitalize(s);
            case "swapcase" -> {
                StringBuilder sb = new StringBuilder();
                s.codePoints().forEach(c -> sb.appendCodePoint(Character.isUpperCase(c) ? Character.toLowerCase(c) : Character.toUpperCase(c)));
                yield sb.toString();
            }
            case "replace" -> replace(s, stringArg(args, 0, name), stringArg(args, 1, name), args.size() > 2 ? (Long) Py.numeric(args.get(2)) : -1);
            case "find", "index" -> {
                int i = s.indexOf(stringArg(args, 0, name));
                if (i < 0 && name.equals("index")) throw new TemplateException("substring not found");
                yield i < 0 ? -1L : (long) s.codePointCount(0, i);
            }
            case "rfind", "rindex" -> {
                int i = s.lastIndexOf(stringArg(args, 0, name));
                if (i < 0 && name.equals("rindex")) throw new TemplateException("substring not found");
                yield i < 0 ? -1L : (long) s.codePointCount(0, i);
            }
            case "count" -> {
                String sub = stringArg(args, 0, name);
                if (sub.isEmpty()) yield Py.length(s) + 1L;
                long n = 0;
                for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) n++;
                yield n;
            }
            case "join" -> {
                StringBuilder sb = new StringBuilder();
                List<Object> items = Py.iterate(arg(args, 0, name));
                for (int i = 0; i < items.size(); i++) {
                    if (!(items.get(i) instanceof String item)) throw new TemplateException("sequence item " + i + ": expected str instance, " + Py.typeName(items.get(i)) + " found");
                    sb.append(i > 0 ? s : "").append(item);
                }
                yield sb.toString();
            }
            case "format" -> format(s, args);
            case "isdigit", "isnumeric", "isdecimal" -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            case "isalnum" -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
            case "isspace" -> Py.isBlank(s);
            case "islower" -> s.codePoints().anyMatch(Character::isLowerCase) && s.codePoints().noneMatch(c -> Character.isUpperCase(c) || Character.isTitleCase(c));
            case "isupper" -> s.codePoints().anyMatch(Character::isUpperCase) && s.codePoints().noneMatch(c -> Character.isLowerCase(c) || Character.isTitleCase(c));
            case "zfill" -> {
                int width = (int) Math.min((Long) Py.numeric(arg(args, 0, name)), 1_000_000);
                int pad = Math.max(0, width - Py.length(s));
                boolean signed = s.startsWith("-") || s.startsWith("+");
                yield signed ? s.charAt(0) + "0".repeat(pad) + s.substring(1) : "0".repeat(pad) + s;
            }
            case "center", "ljust", "rjust" -> pad(s, name, (Long) Py.numeric(arg(args, 0, name)), args.size() > 1 ? stringArg(args, 1, name) : " ");
            case "partition", "rpartition" -> {
                String sep = stringArg(args, 0, name);
                int i = name.equals("partition") ? s.indexOf(sep) : s.lastIndexOf(sep);
                if (i < 0) yield name.equals("partition") ? new PyTuple(List.of(s, "", "")) : new PyTuple(List.of("", "", s));
                yield new PyTuple(List.of(s.substring(0, i), sep, s.substring(i + sep.length())));
            }
            case "removeprefix" -> {
                String p = stringArg(args, 0, name);
                yield s.startsWith(p) ? s.substring(p.length()) : s;
            }
            default -> {
                String p = stringArg(args, 0, name);
                yield s.endsWith(p) && !p.isEmpty() ? s.substring(0, s.length() - p.length()) : s;
            }
        };
    }

    static String pad(String s, String how, long width, String fill) {
        if (Py.length(fill) != 1) throw new TemplateException("the fill character must be exactly one character long");
        int total = (int) Math.min(Math.max(width - Py.length(s), 0), 1_000_000);
        return switch (how) {
            case "ljust" -> s + fill.repeat(total);
            case "rjust" -> fill.repeat(total) + s;
            default -> {
                // Python's centering puts the odd space on the left when the string's length is odd
                int left = total / 2 + (total & (int) width & 1);
                yield fill.repeat(left) + s + fill.repeat(total - left);
            }
        };
    }

    static String title(String s) {
        StringBuilder sb = new StringBuilder();
        boolean previousCased = false;
        for (int c : s.codePoints().toArray()) {
            sb.appendCodePoint(previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c));
            previousCased = Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c);
        }
        return sb.toString();
    }

    static String capitalize(String s) {
        if (s.isEmpty()) return s;
        int first = s.codePointAt(0);
        return new StringBuilder().appendCodePoint(Character.toTitleCase(first)).append(s.substring(Character.charCount(first)).toLowerCase(Locale.ROOT)).toString();
    }

    static String replace(String s, String old, String replacement, long count) {
        if (count < 0) return s.replace(old, replacement);
        StringBuilder sb = new StringBuilder();
        int from = 0;
        for (long n = 0; n < count; n++) {
            int i = old.isEmpty() ? (from <= s.length() ? from : -1) : s.indexOf(old, from);
            if (i < 0) break;
            sb.append(s, from, i).append(replacement);
            if (old.isEmpty()) {
                if (i < s.length()) sb.appendCodePoint(s.codePointAt(i));
                from = i + (i < s.length() ? Character.charCount(s.codePointAt(i)) : 1);
            } else {
                from = i + old.length();
            }
        }
        if (from <= s.length()) sb.append(s, from, s.length());
        return sb.toString();
    }

    private static List<Object> split(String s, String sep, long maxSplit, boolean fromRight) {
        if (sep != null && sep.isEmpty()) throw new TemplateException("empty separator");
        List<Object> parts = new ArrayList<>();
        if (fromRight) {
            String reversed = new StringBuilder(s).reverse().toString();
            for (Object p : split(reversed, sep == null ? null : new StringBuilder(sep).reverse().toString(), maxSplit, false)) {
                parts.add(new StringBuilder((String) p).reverse().toString());
            }
            Collections.reverse(parts);
            return parts;
        }
        if (sep != null) {
            int from = 0;
            for (int i = s.indexOf(sep); i >= 0 && (maxSplit < 0 || parts.size() < maxSplit); i = s.indexOf(sep, from)) {
                parts.add(s.substring(from, i));
                from = i + sep.length();
            }
            parts.add(s.substring(from));
            return parts;
        }
        int i = 0, n = s.length();
        while (true) {
            while (i < n && Py.isSpace(s.charAt(i))) i++;
            if (i >= n) break;
            if (maxSplit >= 0 && parts.size() == maxSplit) {
                parts.add(Py.strip(s.substring(i), null, false, true));
                break;
            }
            int j = i;
            while (j < n && !Py.isSpace(s.charAt(j))) j++;
            parts.add(s.substring(i, j));
            i = j;
        }
        return parts;
    }

    /** str.format with {}, {0} and {name} fields (conversions and format specs are not supported). */
    private static String format(String s, List<Object> args) {
        StringBuilder sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c == '{' || c == '}') && i + 1 < s.length() && s.charAt(i + 1) == c) {
                sb.append(c);
                i++;
            } else if (c == '{') {
                int end = s.indexOf('}', i);
                if (end < 0) throw new TemplateException("single '{' encountered in format string");
                String field = s.substring(i + 1, end);
                Object value;
                if (field.isEmpty()) value = arg(args, auto++, "format");
                else if (field.chars().allMatch(Character::isDigit)) value = arg(args, Integer.parseInt(field), "format");
                else throw new TemplateException("format field {" + field + "} is not supported");
                sb.append(Py.str(value));
                i = end;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Python's "format" % values for %s, %r, %d, %i, %f (with a precision) and %%. */
    static String percentFormat(String format, Object values, Scope.Render render) {
        List<Object> args = values instanceof PyTuple t ? t : List.of(values == null ? "None" : values);
        if (values == null) args = java.util.Arrays.asList((Object) null);
        StringBuilder sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%') {
                sb.append(c);
                continue;
            }
            int j = i + 1;
            int precision = -1;
            if (j < format.length() && format.charAt(j) == '.') {
                int k = j + 1;
                while (k < format.length() && Character.isDigit(format.charAt(k))) k++;
                precision = Integer.parseInt(format.substring(j + 1, k).isEmpty() ? "0" : format.substring(j + 1, k));
                j = k;
            }
            if (j >= format.length()) throw new TemplateException("incomplete format");
            char conversion = format.charAt(j);
            if (conversion == '%') {
                sb.append('%');
            } else {
                if (next >= args.size()) throw new TemplateException("not enough arguments for format string");
                Object v = args.get(next++);
                sb.append(switch (conversion) {
                    case 's' -> Py.str(v);
                    case 'r' -> Py.repr(v);
                    case 'd', 'i' -> String.valueOf(Py.numeric(v) instanceof Double d ? (long) (double) d : (Long) Py.numeric(v));
                    case 'f' -> String.format(Locale.ROOT, "%." + (precision < 0 ? 6 : precision) + "f", ((Number) Py.numeric(v)).doubleValue());
                    default -> throw new TemplateException("unsupported format character '" + conversion + "'");
                });
            }
            i = j;
        }
        if (next < args.size()) throw new TemplateException("not all arguments converted during string formatting");
        return render.checked(sb.toString());
    }

    /** The globals of HF's template environment (and jinja2's range, namespace and dict), or null. */
    static Object global(String name, Scope.Render render) {
        return switch (name) {
            case "raise_exception" -> (PyCallable) (args, kwargs) -> {
                throw new TemplateException(args.isEmpty() ? "raise_exception() called" : Py.str(args.getFirst()));
            };
            case "strftime_now" -> (PyCallable) (args, kwargs) -> render.strftimeNow.apply(Py.str(arg(args, 0, "strftime_now")));
            case "range" -> (PyCallable) (args, kwargs) -> range(args, render);
            case "namespace" -> (PyCallable) (args, kwargs) -> {
                Namespace ns = new Namespace();
                for (Object a : args) {
                    if (!(a instanceof Map<?, ?> m)) throw new TemplateException("namespace() takes mappings, not " + Py.typeName(a));
                    m.forEach((k, v) -> ns.attributes.put(Py.str(k), v));
                }
                ns.attributes.putAll(kwargs);
                return ns;
            };
            case "dict" -> (PyCallable) (args, kwargs) -> new LinkedHashMap<Object, Object>(kwargs);
            default -> null;
        };
    }

    private static List<Object> range(List<Object> args, Scope.Render render) {
        if (args.isEmpty() || args.size() > 3) throw new TemplateException("range expected 1 to 3 arguments, got " + args.size());
        long[] a = new long[args.size()];
        for (int i = 0; i < a.length; i++) {
            if (!(Py.numeric(args.get(i)) instanceof Long n)) throw new TemplateException("range() takes integers, not " + Py.typeName(args.get(i)));
            a[i] = n;
        }
        long start = a.length > 1 ? a[0] : 0, stop = a.length > 1 ? a[1] : a[0], step = a.length > 2 ? a[2] : 1;
        if (step == 0) throw new TemplateException("range() arg 3 must not be zero");
        double count = Math.max(0, Math.ceil(((double) stop - start) / step));
        List<Object> out = new ArrayList<>(render.checkedSize((long) Math.min(count, Long.MAX_VALUE)));
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) out.add(i);
        return out;
    }

    /** Python's strftime for the fields chat templates use (dates, times, names of days and months in English). */
    static String strftime(String format, LocalDateTime t) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) {
                sb.append(c);
                continue;
            }
            char f = format.charAt(++i);
            sb.append(switch (f) {
                case 'd' -> String.format("%02d", t.getDayOfMonth());
                case 'm' -> String.format("%02d", t.getMonthValue());
                case 'Y' -> String.valueOf(t.getYear());
                case 'y' -> String.format("%02d", t.getYear() % 100);
                case 'b' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'j' -> String.format("%03d", t.getDayOfYear());
                case 'H' -> String.format("%02d", t.getHour());
                case 'I' -> String.format("%02d", (t.getHour() + 11) % 12 + 1);
                case 'M' -> String.format("%02d", t.getMinute());
                case 'S' -> String.format("%02d", t.getSecond());
                case 'p' -> t.getHour() < 12 ? "AM" : "PM";
                case 'e' -> String.format("%2d", t.getDayOfMonth());
                case '%' -> "%";
                default -> "%" + f;
            });
        }
        return sb.toString();
    }
}
