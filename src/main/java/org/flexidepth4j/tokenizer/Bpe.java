package org.flexidepth4j.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Rank-based BPE over one pre-tokenized word, as HF tokenizers' BPE model and llama.cpp's BPE session do it:
 * start from single characters, repeatedly apply the lowest-ranked merge (leftmost on ties) until none applies.
 */
final class Bpe {
    private final Map<String, Integer> vocab;
    /** (leftId << 32 | rightId) -> (rank << 32 | mergedId). */
    private final Map<Long, Long> merges;
    private final int unkId;
    private final boolean byteFallback;
    private final boolean fuseUnk;
    private final boolean ignoreMerges;
    private final int[] byteIds = new int[256];

    Bpe(Map<String, Integer> vocab, Map<Long, Long> merges, int unkId, boolean byteFallback, boolean fuseUnk, boolean ignoreMerges) {
        this.vocab = vocab;
        this.merges = merges;
        this.unkId = unkId;
        this.byteFallback = byteFallback;
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
        for (int b = 0; b < 256; b++) byteIds[b] = vocab.getOrDefault(String.format("<0x%02X>", b), -1);
    }

    /** Merge table from "left right" pairs in rank order; pairs whose parts or result are not in the vocabulary are skipped. */
    static Map<Long, Long> mergeTable(Map<String, Integer> vocab, Iterable<String[]> pairs) {
        Map<Long, Long> merges = new HashMap<>();
        long rank = 0;
        for (String[] p : pairs) {
            Integer a = vocab.get(p[0]), b = vocab.get(p[1]), m = vocab.get(p[0] + p[1]);
            if (a != null && b != null && m != null) merges.putIfAbsent(key(a, b), rank << 32 | m);
            rank++;
        }
        return merges;
    }

    private static long key(int a, int b) {
        return (long) a << 32 | (b & 0xFFFFFFFFL);
    }

    void encodeWord(String word, IntList out) {
        if (word.isEmpty()) return;
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        int cps = word.codePointCount(0, word.length());
        int[] ids = new int[cps * 4];
        int n = 0;
        boolean lastUnk = false;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            String ch = word.substring(i, i + Character.charCount(cp));
            i += ch.length();
            Integer id = vocab.get(ch);
            if (id != null) {
                ids[n++] = id;
                lastUnk = false;
                continue;
            }
            if (byteFallback) {
                byte[] bytes = ch.getBytes(StandardCharsets.UTF_8);
                boolean all = true;
                for (byte b : bytes) all &= byteIds[b & 0xFF] >= 0;
                if (all) {
                    for (byte b : bytes) ids[n++] = byteIds[b & 0xFF];
                    lastUnk = false;
                    continue;
                }
            }
            if (unkId >= 0 && !(fuseUnk && lastUnk)) ids[n++] = unkId;
            lastUnk = unkId >= 0;
        }
        int[] next = new int[n], prev = new int[n];
        boolean[] dead = new boolean[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        // queue entries: rank << 32 | position; the smallest comes first (lowest rank, then leftmost)
        PriorityQueue<Long> queue = new PriorityQueue<>();
        for (int i = 0; i + 1 < n; i++) offer(queue, ids, i, i + 1);
        while (!queue.isEmpty()) {
            long top = queue.poll();
            int pos = (int) top;
            long rank = top >>> 32;
            if (dead[pos] || next[pos] < 0) continue;
            int right = next[pos];
            Long m = merges.get(key(ids[pos], ids[right]));
            if (m == null || (m >>> 32) != rank) continue; // stale entry
            ids[pos] = (int) (long) m;
            dead[right] = true;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0) offer(queue, ids, prev[pos], pos);
            if (next[pos] >= 0) offer(queue, ids, pos, next[pos]);
        }
        for (int i = 0; i >= 0 && i < n; i = next[i]) out.add(ids[i]);
    }

    private void offer(PriorityQueue<Long> queue, int[] ids, int left, int right) {
        Long m = merges.get(key(ids[left], ids[right]));
        if (m != null) queue.add((m >>> 32) << 32 | left);
    }
}
