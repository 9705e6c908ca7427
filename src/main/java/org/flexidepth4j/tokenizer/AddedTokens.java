package org.flexidepth4j.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds added/special tokens in raw text before any normalization or pre-tokenization (HF AddedVocabulary:
 * leftmost-longest match, with lstrip/rstrip absorbing neighbouring whitespace and single_word requiring
 * word boundaries).
 */
final class AddedTokens {
    record Token(String content, int id, boolean lstrip, boolean rstrip, boolean singleWord) {
    }

    /** A piece of text: either plain text to tokenize ({@code id < 0}) or one added token. */
    record Segment(String text, int id) {
    }

    private final Map<Character, List<Token>> byFirstChar = new HashMap<>();

    AddedTokens(List<Token> tokens) {
        for (Token t : tokens) {
            if (!t.content.isEmpty()) byFirstChar.computeIfAbsent(t.content.charAt(0), c -> new ArrayList<>()).add(t);
        }
        byFirstChar.values().forEach(l -> l.sort(Comparator.comparingInt((Token t) -> t.content.length()).reversed()));
    }

    boolean isEmpty() {
        return byFirstChar.isEmpty();
    }

    List<Segment> split(String text) {
        List<Segment> out = new ArrayList<>();
        int textStart = 0;
        for (int i = 0; i < text.length(); i++) {
            List<Token> candidates = byFirstChar.get(text.charAt(i));
            if (candidates == null) continue;
            for (Token t : candidates) {
                if (!text.startsWith(t.content, i)) continue;
                int end = i + t.content.length();
                if (t.singleWord && (isWordChar(text, i - 1) || isWordChar(text, end))) continue;
                int start = i;
                if (t.lstrip) while (start > textStart && Character.isWhitespace(text.charAt(start - 1))) start--;
                if (t.rstrip) while (end < text.length() && Character.isWhitespace(text.charAt(end))) end++;
                if (start > textStart) out.add(new Segment(text.substring(textStart, start), -1));
                out.add(new Segment(t.content, t.id));
                textStart = end;
                i = end - 1;
                break;
            }
        }
        if (textStart < text.length()) out.add(new Segment(text.substring(textStart), -1));
        return out;
    }

    private static boolean isWordChar(String s, int i) {
        if (i < 0 || i >= s.length()) return false;
        char c = s.charAt(i);
        return Character.isLetterOrDigit(c) || c == '_';
    }
}
