package org.flexidepth4j.eval;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * layers.html: one self-contained page (inline CSS and SVG, no scripts or external resources) showing the text with
 * each token colored by the layers it used (hover for its gates), the legend, per-layer skip rates and the
 * category tables.
 */
public final class TraceHtml {
    /** Tokens shown in the text view; the tables and chart always cover every token. */
    public static final int MAX_TOKENS = 20_000;
    private static final int[][] VIRIDIS = {{0x44, 0x01, 0x54}, {0x3b, 0x52, 0x8b}, {0x21, 0x91, 0x8c}, {0x5e, 0xc9, 0x62}, {0xfd, 0xe7, 0x25}};

    private TraceHtml() {
    }

    public static String page(String model, List<TraceRow> rows, TraceSummary s, int maxTokens) {
        int lo = rows.stream().mapToInt(TraceRow::layersUsed).min().orElse(0);
        int hi = rows.stream().mapToInt(TraceRow::layersUsed).max().orElse(s.numLayers());
        StringBuilder h = new StringBuilder(64 * Math.min(rows.size(), maxTokens) + 8192);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Layer allocation</title>\n<style>\n")
                .append("body{font-family:sans-serif;margin:2em;max-width:70em;color:#222}\n")
                .append(".doc{font-family:monospace;white-space:pre-wrap;line-height:1.9;border:1px solid #ccc;padding:.8em;margin:1em 0}\n")
                .append(".t{border-radius:2px;padding:1px 0}.g{outline:1px dashed #c00}.sp{font-size:70%;opacity:.8}\n")
                .append(".legend span{display:inline-block;min-width:2.4em;text-align:center;font-family:monospace;padding:2px}\n")
                .append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 10px;text-align:right}th{background:#eee}\n")
                .append("</style></head><body>\n<h1>Layer allocation per token</h1>\n");
        h.append("<p>Model <code>").append(esc(model)).append("</code>: ").append(s.tokens()).append(" tokens in ").append(s.docs())
                .append(" documents, mean layers used ").append(fmt(s.meanLayers())).append(" of ").append(s.numLayers())
                .append("; routed layers ").append(esc(s.routedLayers().toString())).append(".</p>\n");
        h.append("<div class=\"legend\">Layers used: ");
        for (int v = lo; v <= hi; v++) h.append("<span style=\"").append(style(v, lo, hi)).append("\">").append(v).append("</span>");
        h.append(" &nbsp;<span class=\"t g\">generated</span> (hover a token for its gates)</div>\n<h2>Text</h2>\n");
        int shown = 0, doc = -1;
        for (TraceRow r : rows) {
            if (shown++ == maxTokens) break;
            if (r.doc() != doc) {
                if (doc >= 0) h.append("</div>\n");
                doc = r.doc();
                h.append("<div class=\"doc\" id=\"doc").append(doc).append("\">");
            }
            h.append("<span class=\"t").append(r.generated() ? " g" : "").append(r.category().equals("special") ? " sp" : "").append("\" style=\"")
                    .append(style(r.layersUsed(), lo, hi)).append("\" title=\"").append(esc(hover(r, s.routedLayers()))).append("\">")
                    .append(esc(r.text().isEmpty() ? "\u00b7" : r.text())).append("</span>");
        }
        if (doc >= 0) h.append("</div>\n");
        if (rows.size() > maxTokens) h.append("<p>(text view shows the first ").append(maxTokens).append(" of ").append(rows.size()).append(" tokens)</p>\n");
        h.append("<h2>Skip rate per layer</h2>\n").append(skipChart(s));
        table(h, "Layers used by token category", "category", s.byCategory());
        table(h, "Repeated n-grams (" + TraceSummary.REPEAT_N + "-grams seen earlier in the document)", "group", s.byRepetition());
        table(h, "Read vs generated", "origin", s.byOrigin());
        table(h, "Layers used by position", "position", s.byPosition());
        return h.append("</body></html>\n").toString();
    }

    private static String hover(TraceRow r, List<Integer> routed) {
        StringBuilder sb = new StringBuilder();
        sb.append("doc ").append(r.doc()).append(" pos ").append(r.pos()).append(" id ").append(r.id()).append(" ").append(r.token())
                .append("\nlayers used ").append(r.layersUsed()).append(" (").append(r.category()).append(r.repeated() ? ", repeated" : "").append(")");
        for (int l : routed) {
            sb.append("\nL").append(l).append(" gate ").append(String.format(Locale.ROOT, "%.3f", r.gates()[l])).append(r.ran()[l] ? " ran" : " skipped");
        }
        for (int l = 0; l < r.ran().length; l++) if (!r.ran()[l] && !routed.contains(l)) sb.append("\nL").append(l).append(" removed");
        return sb.toString();
    }

    private static String skipChart(TraceSummary s) {
        int n = s.numLayers(), bar = Math.max(8, Math.min(40, 720 / Math.max(1, n))), height = 160, left = 40, top = 10;
        int width = left + n * bar + 10;
        StringBuilder sb = new StringBuilder();
        sb.append("<svg width=\"").append(width).append("\" height=\"").append(height + top + 40).append("\" role=\"img\" aria-label=\"skip rate per layer\">\n");
        for (int k = 0; k <= 4; k++) {
            int y = top + height - k * height / 4;
            sb.append("<line x1=\"").append(left).append("\" x2=\"").append(width).append("\" y1=\"").append(y).append("\" y2=\"").append(y).append("\" stroke=\"#ddd\"/>")
                    .append("<text x=\"").append(left - 4).append("\" y=\"").append(y + 4).append("\" font-size=\"10\" text-anchor=\"end\">").append(k * 25).append("%</text>\n");
        }
        for (int l = 0; l < n; l++) {
            double rate = s.skipRate()[l];
            int h = (int) Math.round(rate * height), x = left + l * bar;
            String color = s.routedLayers().contains(l) ? "#3b528b" : "#999";
            sb.append("<rect class=\"bar\" x=\"").append(x + 1).append("\" y=\"").append(top + height - h).append("\" width=\"").append(bar - 2)
                    .append("\" height=\"").append(h).append("\" fill=\"").append(color).append("\"><title>layer ").append(l).append(": ")
                    .append(String.format(Locale.ROOT, "%.1f%%", 100 * rate)).append(" skipped</title></rect>")
                    .append("<text x=\"").append(x + bar / 2).append("\" y=\"").append(top + height + 14).append("\" font-size=\"10\" text-anchor=\"middle\">").append(l).append("</text>\n");
        }
        sb.append("<text x=\"").append(left + n * bar / 2).append("\" y=\"").append(top + height + 32).append("\" font-size=\"12\" text-anchor=\"middle\">layer (blue: routed)</text>\n");
        return sb.append("</svg>\n").toString();
    }

    private static void table(StringBuilder h, String title, String key, Map<String, TraceSummary.Stat> stats) {
        h.append("<h2>").append(esc(title)).append("</h2>\n<table><tr><th>").append(key).append("</th><th>tokens</th><th>mean layers used</th></tr>\n");
        stats.forEach((k, v) -> h.append("<tr><td>").append(esc(k)).append("</td><td>").append(v.count()).append("</td><td>").append(fmt(v.meanLayers())).append("</td></tr>\n"));
        h.append("</table>\n");
    }

    /** Background from the viridis ramp (dark = many layers), with readable text. */
    static String style(int used, int lo, int hi) {
        double f = hi == lo ? 1 : (double) (hi - used) / (hi - lo);
        double p = f * (VIRIDIS.length - 1);
        int i = Math.min((int) p, VIRIDIS.length - 2);
        double w = p - i;
        int[] c = new int[3];
        for (int k = 0; k < 3; k++) c[k] = (int) Math.round(VIRIDIS[i][k] * (1 - w) + VIRIDIS[i + 1][k] * w);
        return String.format(Locale.ROOT, "background:#%02x%02x%02x;color:%s", c[0], c[1], c[2], f < 0.55 ? "#fff" : "#000");
    }

    private static String fmt(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2f", v) : "-";
    }

    static String esc(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                case '\n' -> sb.append("&#10;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }
}
