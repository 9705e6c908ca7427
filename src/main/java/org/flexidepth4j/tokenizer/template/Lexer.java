package org.flexidepth4j.tokenizer.template;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Splits a template into text and tag tokens the way jinja2's lexer does with HF's settings (trim_blocks,
 * lstrip_blocks, the trailing newline dropped, line breaks normalized to "\n").
 */
final class Lexer {
    enum Kind { DATA, VAR_BEGIN, VAR_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INT, FLOAT, OP, EOF }

    record Token(Kind kind, String text, int line) {
        boolean is(Kind k, String t) {
            return kind == k && text.equals(t);
        }

        boolean isName(String t) {
            return is(Kind.NAME, t);
        }

        boolean isOp(String t) {
            return is(Kind.OP, t);
        }
    }

    private static final String[] TWO_CHAR_OPS = {"//", "**", "==", "!=", ">=", "<="};
    private static final String ONE_CHAR_OPS = "+-/*%~[](){}><=.:|,;";

    private final String src;
    private final List<Token> out = new ArrayList<>();
    private int pos;
    private boolean lineStarting = true;
    private int lineCursor;
    private int lineAtCursor = 1;

    private Lexer(String source) {
        String normalized = source.replace("\r\n", "\n").replace('\r', '\n');
        this.src = normalized.endsWith("\n") ? normalized.substring(0, normalized.length() - 1) : normalized;
    }

    static List<Token> lex(String source) {
        Lexer lexer = new Lexer(source);
        lexer.run();
        return lexer.out;
    }

    private void run() {
        while (pos < src.length()) {
            int open = nextTag(pos);
            if (open < 0) {
                data(src.substring(pos), pos);
                break;
            }
            char kind = src.charAt(open + 1);
            int p = open + 2;
            char sign = p < src.length() && (src.charAt(p) == '-' || src.charAt(p) == '+') ? src.charAt(p) : 0;
            int rawEnd = kind == '%' ? rawBegin(p + (sign != 0 ? 1 : 0)) : -1;
            data(stripBefore(src.substring(pos, open), sign, kind != '{'), pos);
            p += sign != 0 ? 1 : 0;
            pos = open;
            if (rawEnd >= 0) {
                raw(rawEnd);
            } else if (kind == '#') {
                comment(p);
            } else {
                tag(kind, p);
            }
        }
        out.add(new Token(Kind.EOF, "", lineOf(src.length())));
    }

    /** The line number of position p (positions are asked for in increasing order). */
    private int lineOf(int p) {
        for (; lineCursor < p; lineCursor++) if (src.charAt(lineCursor) == '\n') lineAtCursor++;
        return lineAtCursor;
    }

    private int nextTag(int from) {
        for (int i = src.indexOf('{', from); i >= 0 && i + 1 < src.length(); i = src.indexOf('{', i + 1)) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') return i;
        }
        return -1;
    }

    /** Whitespace control of the text before a tag: "-" strips it all, lstrip_blocks the indentation of a block tag. */
    private String stripBefore(String text, char sign, boolean blockOrComment) {
        if (sign == '-') return Py.rstrip(text);
        if (sign == '+' || !blockOrComment) return text;
        int lineStart = text.lastIndexOf('\n') + 1;
        if ((lineStart > 0 || lineStarting) && lineStart < text.length() && Py.isBlank(text.substring(lineStart))) {
            return text.substring(0, lineStart);
        }
        return text;
    }

    private void data(String text, int at) {
        if (!text.isEmpty()) out.add(new Token(Kind.DATA, text, lineOf(at)));
    }

    /** Where the text after "{% raw %}" starts, or -1 when the block tag at p is not raw. */
    private int rawBegin(int p) {
        int q = skipSpace(p);
        if (!src.startsWith("raw", q)) return -1;
        q = skipSpace(q + 3);
        if (src.startsWith("-%}", q)) return skipSpace(q + 3);
        return src.startsWith("%}", q) ? q + 2 : -1;
    }

    private int skipSpace(int p) {
        while (p < src.length() && Py.isSpace(src.charAt(p))) p++;
        return p;
    }

    private void raw(int start) {
        lineStarting = src.charAt(start - 1) == '\n';
        for (int open = src.indexOf("{%", start); open >= 0; open = src.indexOf("{%", open + 1)) {
            int p = open + 2;
            char sign = p < src.length() && (src.charAt(p) == '-' || src.charAt(p) == '+') ? src.charAt(p) : 0;
            int q = skipSpace(p + (sign != 0 ? 1 : 0));
            if (!src.startsWith("endraw", q)) continue;
            q = skipSpace(q + 6);
            int end = blockEnd(q);
            if (end < 0) continue;
            data(stripBefore(src.substring(start, open), sign, true), start);
            lineStarting = src.charAt(end - 1) == '\n';
            pos = end;
            return;
        }
        throw new TemplateException("line " + lineOf(start) + ": missing end of raw directive");
    }

    /** The position after a block end ("%}", "-%}" and the whitespace after it, "+%}") at q, or -1. */
    private int blockEnd(int q) {
        if (src.startsWith("+%}", q)) return q + 3;
        if (src.startsWith("-%}", q)) return skipSpace(q + 3);
        if (src.startsWith("%}", q)) return q + 2 < src.length() && src.charAt(q + 2) == '\n' ? q + 3 : q + 2;
        return -1;
    }

    private void comment(int p) {
        int close = src.indexOf("#}", p);
        if (close < 0) throw new TemplateException("line " + lineOf(p) + ": missing end of comment tag");
        int end;
        if (close - 1 >= p && src.charAt(close - 1) == '-') end = skipSpace(close + 2);
        else if (close - 1 >= p && src.charAt(close - 1) == '+') end = close + 2;
        else end = close + 2 < src.length() && src.charAt(close + 2) == '\n' ? close + 3 : close + 2;
        lineStarting = src.charAt(end - 1) == '\n';
        pos = end;
    }

    private void tag(char kind, int p) {
        boolean block = kind == '%';
        out.add(new Token(block ? Kind.BLOCK_BEGIN : Kind.VAR_BEGIN, block ? "{%" : "{{", lineOf(p)));
        Deque<Character> brackets = new ArrayDeque<>();
        while (true) {
            if (p >= src.length()) throw new TemplateException("line " + lineOf(pos) + ": unclosed " + (block ? "{%" : "{{"));
            if (brackets.isEmpty()) {
                int end = block ? blockEnd(p) : src.startsWith("-}}", p) ? skipSpace(p + 3) : src.startsWith("}}", p) ? p + 2 : -1;
                if (end >= 0) {
                    out.add(new Token(block ? Kind.BLOCK_END : Kind.VAR_END, block ? "%}" : "}}", lineOf(p)));
                    lineStarting = src.charAt(end - 1) == '\n';
                    pos = end;
                    return;
                }
            }
            char c = src.charAt(p);
            if (Py.isSpace(c)) {
                p++;
            } else if (c >= '0' && c <= '9') {
                p = number(p);
            } else if (Character.isLetter(c) || c == '_') {
                int q = p;
                while (q < src.length() && (Character.isLetterOrDigit(src.charAt(q)) || src.charAt(q) == '_')) q++;
                out.add(new Token(Kind.NAME, src.substring(p, q), lineOf(p)));
                p = q;
            } else if (c == '\'' || c == '"') {
                p = string(p);
            } else {
                p = operator(p, brackets);
            }
        }
    }

    private int number(int p) {
        int q = digits(p);
        boolean isFloat = false;
        boolean afterDot = p > 0 && src.charAt(p - 1) == '.';
        if (!afterDot && q + 1 < src.length() && src.charAt(q) == '.' && Character.isDigit(src.charAt(q + 1))) {
            q = digits(q + 1);
            isFloat = true;
        }
        if (!afterDot && q < src.length() && (src.charAt(q) == 'e' || src.charAt(q) == 'E')) {
            int e = q + 1;
            if (e < src.length() && (src.charAt(e) == '+' || src.charAt(e) == '-')) e++;
            if (e < src.length() && Character.isDigit(src.charAt(e))) {
                q = digits(e);
                isFloat = true;
            }
        }
        out.add(new Token(isFloat ? Kind.FLOAT : Kind.INT, src.substring(p, q).replace("_", ""), lineOf(p)));
        return q;
    }

    private int digits(int p) {
        while (p < src.length() && (Character.isDigit(src.charAt(p)) || src.charAt(p) == '_' && p + 1 < src.length() && Character.isDigit(src.charAt(p + 1)))) p++;
        return p;
    }

    private int string(int p) {
        char quote = src.charAt(p);
        StringBuilder sb = new StringBuilder();
        int q = p + 1;
        while (q < src.length() && src.charAt(q) != quote) {
            char c = src.charAt(q);
            if (c != '\\' || q + 1 >= src.length()) {
                sb.append(c);
                q++;
                continue;
            }
            q = escape(q + 1, sb);
        }
        if (q >= src.length()) throw new TemplateException("line " + lineOf(p) + ": unterminated string");
        out.add(new Token(Kind.STRING, sb.toString(), lineOf(p)));
        return q + 1;
    }

    /** Python's unicode-escape decoding of the escape whose letter is at q; returns the position after it. */
    private int escape(int q, StringBuilder sb) {
        char e = src.charAt(q);
        switch (e) {
            case '\n' -> {
                return q + 1;
            }
            case '\\', '\'', '"' -> sb.append(e);
            case 'a' -> sb.append('\u0007');
            case 'b' -> sb.append('\b');
            case 'f' -> sb.append('\f');
            case 'n' -> sb.append('\n');
            case 'r' -> sb.append('\r');
            case 't' -> sb.append('\t');
            case 'v' -> sb.append('\u000b');
            case 'x', 'u', 'U' -> {
                int len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                if (q + 1 + len > src.length()) throw new TemplateException("line " + lineOf(q) + ": truncated \\" + e + " escape");
                int cp;
                try {
                    cp = Integer.parseUnsignedInt(src.substring(q + 1, q + 1 + len), 16);
                } catch (NumberFormatException ex) {
                    throw new TemplateException("line " + lineOf(q) + ": bad \\" + e + " escape");
                }
                if (!Character.isValidCodePoint(cp)) throw new TemplateException("line " + lineOf(q) + ": bad \\" + e + " escape");
                sb.appendCodePoint(cp);
                return q + 1 + len;
            }
            default -> {
                if (e >= '0' && e <= '7') {
                    int end = q;
                    while (end < src.length() && end < q + 3 && src.charAt(end) >= '0' && src.charAt(end) <= '7') end++;
                    sb.appendCodePoint(Integer.parseInt(src.substring(q, end), 8));
                    return end;
                }
                sb.append('\\').append(e);
            }
        }
        return q + 1;
    }

    private int operator(int p, Deque<Character> brackets) {
        for (String op : TWO_CHAR_OPS) {
            if (src.startsWith(op, p)) {
                out.add(new Token(Kind.OP, op, lineOf(p)));
                return p + 2;
            }
        }
        char c = src.charAt(p);
        int line = lineOf(p);
        if (ONE_CHAR_OPS.indexOf(c) < 0) throw new TemplateException("line " + line + ": unexpected character '" + c + "'");
        switch (c) {
            case '(' -> brackets.push(')');
            case '[' -> brackets.push(']');
            case '{' -> brackets.push('}');
            case ')', ']', '}' -> {
                if (brackets.isEmpty()) throw new TemplateException("line " + line + ": unexpected '" + c + "'");
                char expected = brackets.pop();
                if (expected != c) throw new TemplateException("line " + line + ": unexpected '" + c + "', expected '" + expected + "'");
            }
            default -> {
            }
        }
        out.add(new Token(Kind.OP, String.valueOf(c), line));
        return p + 1;
    }
}
