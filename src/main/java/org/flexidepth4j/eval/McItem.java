package org.flexidepth4j.eval;

import java.util.List;

/**
 * One multiple-choice item: choice i is the text {@code continuations[i]} after {@code contexts[i]} (one shared
 * context for most tasks; one context per choice for WinoGrande's partial scoring, where the continuation is shared).
 */
public record McItem(List<String> contexts, List<String> continuations, int gold) {
    public McItem {
        contexts = List.copyOf(contexts);
        continuations = List.copyOf(continuations);
        int n = Math.max(contexts.size(), continuations.size());
        if (n < 2) throw new IllegalArgumentException("a multiple-choice item needs at least two choices");
        if (contexts.size() != 1 && contexts.size() != n || continuations.size() != 1 && continuations.size() != n) {
            throw new IllegalArgumentException("contexts (" + contexts.size() + ") and continuations (" + continuations.size() + ") do not pair up");
        }
        if (gold < 0 || gold >= n) throw new IllegalArgumentException("gold " + gold + " is not one of " + n + " choices");
    }

    /** Shared context, one continuation per choice. */
    public static McItem of(String context, List<String> continuations, int gold) {
        return new McItem(List.of(context), continuations, gold);
    }

    public int choices() {
        return Math.max(contexts.size(), continuations.size());
    }

    public String context(int choice) {
        return contexts.size() == 1 ? contexts.get(0) : contexts.get(choice);
    }

    public String continuation(int choice) {
        return continuations.size() == 1 ? continuations.get(0) : continuations.get(choice);
    }
}
