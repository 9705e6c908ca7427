package org.flexidepth4j.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Splits text into the words BPE runs on (HF pre-tokenizers, llama.cpp pre-tokenizer regexes). */
@FunctionalInterface
interface PreTokenizer {
    /** Splits each piece further; {@code atStart}: the first piece begins the whole input (not after an added token). */
    List<String> split(List<String> pieces, boolean atStart);

    default List<String> split(String text) {
        return split(List.of(text), true);
    }

    /** GPT-2's pattern (also ByteLevel's built-in regex). */
    String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    /** Llama-3's pattern (case-insensitive contractions, digits in groups of up to three). */
    String LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Qwen2's pattern: Llama-3's with single digits. */
    String QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    enum Behavior { ISOLATED, REMOVED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    /**
     * Oniguruma patterns (HF tokenizers) carry over to java.util.regex as written: \p{L}, \p{N}, possessive and
     * atomic groups all exist there. UNICODE_CHARACTER_CLASS makes \s mean Unicode White_Space, as in Oniguruma.
     */
    static Pattern compile(String regex) {
        return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
    }

    static PreTokenizer regex(String regex, Behavior behavior, boolean invert) {
        Pattern p = compile(regex);
        return (pieces, atStart) -> {
            List<String> out = new ArrayList<>();
            for (String s : pieces) splitOne(p, s, behavior, invert, out);
            return out;
        };
    }

    private static void splitOne(Pattern p, String s, Behavior behavior, boolean invert, List<String> out) {
        // segments of s: [start, end, isMatch]
        List<int[]> segs = new ArrayList<>();
        Matcher m = p.matcher(s);
        int last = 0;
        while (m.find()) {
            if (m.end() == m.start()) continue;
            if (m.start() > last) segs.add(new int[] {last, m.start(), invert ? 1 : 0});
            segs.add(new int[] {m.start(), m.end(), invert ? 0 : 1});
            last = m.end();
        }
        if (last < s.length()) segs.add(new int[] {last, s.length(), invert ? 1 : 0});
        switch (behavior) {
            case ISOLATED -> segs.forEach(g -> out.add(s.substring(g[0], g[1])));
            case REMOVED -> segs.stream().filter(g -> g[2] == 0).forEach(g -> out.add(s.substring(g[0], g[1])));
            case MERGED_WITH_PREVIOUS -> {
                int start = 0;
                for (int[] g : segs) {
                    if (g[2] == 1) {
                        out.add(s.substring(start, g[1]));
                        start = g[1];
                    }
                }
                if (start < s.length()) out.add(s.substring(start));
            }
            case MERGED_WITH_NEXT -> {
                int start = 0;
                for (int[] g : segs) {
                    if (g[2] == 1 && g[0] > start) {
                        out.add(s.substring(start, g[0]));
                        start = g[0];
                    }
                }
                if (start < s.length()) out.add(s.substring(start));
            }
            case CONTIGUOUS -> {
                int start = 0;
                for (int i = 0; i < segs.size(); i++) {
                    int[] g = segs.get(i);
                    boolean joinNext = i + 1 < segs.size() && g[2] == 1 && segs.get(i + 1)[2] == 1;
                    if (!joinNext) {
                        out.add(s.substring(start, g[1]));
                        start = g[1];
                    }
                }
            }
        }
    }

    /** HF ByteLevel: optional prefix space, optional GPT-2 split, then every byte as its stand-in character. */
    static PreTokenizer byteLevel(boolean addPrefixSpace, boolean useRegex) {
        PreTokenizer gpt2 = regex(GPT2, Behavior.ISOLATED, false);
        return (pieces, atStart) -> {
            List<String> out = new ArrayList<>();
            for (String s : pieces) {
                String t = addPrefixSpace && !s.startsWith(" ") ? " " + s : s;
                for (String w : useRegex ? gpt2.split(t) : List.of(t)) out.add(ByteLevel.encode(w));
            }
            return out;
        };
    }

    /** HF Metaspace: spaces become the replacement character, a prefix is added, optionally split before it. */
    static PreTokenizer metaspace(String replacement, String prependScheme, boolean split) {
        PreTokenizer splitter = regex(Pattern.quote(replacement), Behavior.MERGED_WITH_NEXT, false);
        return (pieces, atStart) -> {
            List<String> out = new ArrayList<>();
            for (int i = 0; i < pieces.size(); i++) {
                String t = pieces.get(i).replace(" ", replacement);
                boolean prepend = prependScheme.equals("always") || (prependScheme.equals("first") && i == 0 && atStart);
                if (prepend && !t.startsWith(replacement)) t = replacement + t;
                out.addAll(split ? splitter.split(t) : List.of(t));
            }
            return out;
        };
    }

    static PreTokenizer sequence(List<PreTokenizer> steps) {
        return (pieces, atStart) -> {
            List<String> cur = pieces;
            for (PreTokenizer p : steps) cur = p.split(cur, atStart);
            return cur;
        };
    }
}
