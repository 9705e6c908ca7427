package org.flexidepth4j.eval;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.flexidepth4j.io.Json;

/** Mean layers used by token category, position bucket and origin, and the skip rate of every layer. */
public record TraceSummary(int tokens, int docs, int numLayers, List<Integer> routedLayers, double meanLayers,
                           Map<String, Stat> byCategory, Map<String, Stat> byRepetition, Map<String, Stat> byPosition,
                           Map<String, Stat> byOrigin, double[] skipRate) {
    public static final List<String> CATEGORIES = List.of("word_start", "continuation", "digit", "punctuation", "whitespace", "special", "other");
    public static final List<String> POSITION_BUCKETS = List.of("0", "1-15", "16-63", "64-255", "256-1023", "1024+");
    /** A token is "repeated" when it ends an n-gram of this many tokens already seen earlier in the document. */
    public static final int REPEAT_N = 3;

    /** Count and mean layers used of a group of tokens. */
    public record Stat(long count, double meanLayers) {
    }

    /**
     * The category of a token from the text it decoded to and the text before it: special, whitespace, digit (digits
     * only, maybe with leading space), punctuation (no letter or digit), continuation (starts with a letter glued to
     * a preceding letter/digit), word_start (a letter after a space or other boundary), else other.
     */
    public static String category(String text, String previous, boolean special) {
        if (special) return "special";
        if (text.isEmpty()) return "other";
        if (text.isBlank()) return "whitespace";
        String s = text.strip();
        if (s.chars().allMatch(Character::isDigit)) return "digit";
        if (s.codePoints().noneMatch(Character::isLetterOrDigit)) return "punctuation";
        int first = text.codePointAt(0);
        if (Character.isLetter(first)) {
            boolean glued = !previous.isEmpty() && Character.isLetterOrDigit(previous.codePointBefore(previous.length()));
            return glued ? "continuation" : "word_start";
        }
        if (Character.isWhitespace(first) && Character.isLetter(s.codePointAt(0))) return "word_start";
        return "other";
    }

    /** Per token of one document: whether ids[t-n+1..t] occurred earlier in it (n = {@link #REPEAT_N}). */
    public static boolean[] repeatedNgrams(int[] ids) {
        boolean[] out = new boolean[ids.length];
        Set<List<Integer>> seen = new HashSet<>();
        for (int t = REPEAT_N - 1; t < ids.length; t++) {
            List<Integer> gram = new java.util.ArrayList<>(REPEAT_N);
            for (int k = t - REPEAT_N + 1; k <= t; k++) gram.add(ids[k]);
            out[t] = !seen.add(gram);
        }
        return out;
    }

    public static String positionBucket(int pos) {
        if (pos == 0) return "0";
        if (pos < 16) return "1-15";
        if (pos < 64) return "16-63";
        if (pos < 256) return "64-255";
        if (pos < 1024) return "256-1023";
        return "1024+";
    }

    public static TraceSummary of(List<TraceRow> rows, int numLayers, List<Integer> routedLayers) {
        Map<String, long[]> cat = groups(CATEGORIES), rep = groups(List.of("repeated_ngram", "first_occurrence")),
                pos = groups(POSITION_BUCKETS), origin = groups(List.of("read", "generated"));
        long[] skipped = new long[numLayers];
        long total = 0;
        Set<Integer> docs = new HashSet<>();
        for (TraceRow r : rows) {
            add(cat, r.category(), r.layersUsed());
            add(rep, r.repeated() ? "repeated_ngram" : "first_occurrence", r.layersUsed());
            add(pos, positionBucket(r.pos()), r.layersUsed());
            add(origin, r.generated() ? "generated" : "read", r.layersUsed());
            for (int l = 0; l < numLayers; l++) if (!r.ran()[l]) skipped[l]++;
            total += r.layersUsed();
            docs.add(r.doc());
        }
        double[] skipRate = new double[numLayers];
        for (int l = 0; l < numLayers; l++) skipRate[l] = rows.isEmpty() ? 0 : (double) skipped[l] / rows.size();
        return new TraceSummary(rows.size(), docs.size(), numLayers, List.copyOf(routedLayers), rows.isEmpty() ? Double.NaN : (double) total / rows.size(),
                stats(cat), stats(rep), stats(pos), stats(origin), skipRate);
    }

    private static Map<String, long[]> groups(List<String> names) {
        Map<String, long[]> m = new LinkedHashMap<>();
        for (String n : names) m.put(n, new long[2]);
        return m;
    }

    private static void add(Map<String, long[]> m, String key, int layers) {
        long[] g = m.get(key);
        g[0]++;
        g[1] += layers;
    }

    private static Map<String, Stat> stats(Map<String, long[]> m) {
        Map<String, Stat> out = new LinkedHashMap<>();
        m.forEach((k, g) -> out.put(k, new Stat(g[0], g[0] == 0 ? Double.NaN : (double) g[1] / g[0])));
        return out;
    }

    public ObjectNode toJson() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("tokens", tokens);
        o.put("docs", docs);
        o.put("num_layers", numLayers);
        routedLayers.forEach(o.putArray("routed_layers")::add);
        putMean(o, "mean_layers_used", meanLayers);
        o.put("repeat_ngram_n", REPEAT_N);
        putStats(o, "by_category", byCategory);
        putStats(o, "by_repetition", byRepetition);
        putStats(o, "by_position", byPosition);
        putStats(o, "by_origin", byOrigin);
        ObjectNode skip = o.putObject("skip_rate_by_layer");
        for (int l = 0; l < numLayers; l++) skip.put(Integer.toString(l), skipRate[l]);
        return o;
    }

    private static void putStats(ObjectNode o, String key, Map<String, Stat> stats) {
        ObjectNode g = o.putObject(key);
        stats.forEach((k, s) -> {
            ObjectNode e = g.putObject(k);
            e.put("count", s.count());
            putMean(e, "mean_layers_used", s.meanLayers());
        });
    }

    private static void putMean(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) o.put(key, v);
        else o.putNull(key);
    }
}
