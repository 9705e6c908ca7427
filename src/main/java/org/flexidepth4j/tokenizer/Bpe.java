package org.flexidepth4j.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Rank-based BPE over one pre-tokenized word, as HF tokenizers' BPE model and llama.cpp's BPE session do it:
 * start from single characters, repeatedly apply the lowest-ranked merge (leftmost on ties) until none applies.
 */
final class Bpe {
    /** Words seen recently (pre-tokenized text repeats a lot); cleared when it grows past CACHE_LIMIT. */
    private static final int CACHE_LIMIT = 50_000;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();
    private final Map<String, Integer> vocab;
    private final MergeTable merges;
    private final int unkId;
    private final boolean byteFallback;
    private final boolean fuseUnk;
    private final boolean ignoreMerges;
    private final int[] byteIds = new int[256];

    Bpe(Map<String, Integer> vocab, MergeTable merges, int unkId, boolean byteFallback, boolean fuseUnk, boolean ignoreMerges) {
        this.vocab = vocab;
        this.merges = merges;
        this.unkId = unkId;
        this.byteFallback = byteFallback;
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
        for (int b = 0; b < 256; b++) byteIds[b] = vocab.getOrDefault(String.format("<0x%02X>", b), -1);
    }

    /** Merge table from "left right" pairs in rank order; pairs whose parts or result are not in the vocabulary are skipped. */
    static MergeTable mergeTable(Map<String, Integer> vocab, java.util.List<String[]> pairs) {
        MergeTable merges = new MergeTable(pairs.size());
        long rank = 0;
        for (String[] p : pairs) {
            Integer a = vocab.get(p[0]), b = vocab.get(p[1]), m = vocab.get(p[0] + p[1]);
            if (a != null && b != null && m != null) merges.putIfAbsent(a, b, rank << 32 | m);
            rank++;
        }
        return merges;
    }

    /** Open-addressing map (leftId, rightId) -> (rank << 32 | mergedId); -1 when absent. */
    static final class MergeTable {
        private final long[] keys;
        private final long[] values;
        private final int mask;

        MergeTable(int expected) {
            int cap = Integer.highestOneBit(Math.max(4, expected * 2 + 1)) << 1;
            keys = new long[cap];
            values = new long[cap];
            mask = cap - 1;
            Arrays.fill(keys, -1);
        }

        private int slot(long key) {
            int h = (int) (key ^ (key >>> 29) ^ (key >>> 43)) * 0x9E3779B9;
            int i = h & mask;
            while (keys[i] != -1 && keys[i] != key) i = (i + 1) & mask;
            return i;
        }

        void putIfAbsent(int a, int b, long value) {
            long key = (long) a << 32 | b;
            int i = slot(key);
            if (keys[i] == -1) {
                keys[i] = key;
                values[i] = value;
            }
        }

        long get(int a, int b) {
            int i = slot((long) a << 32 | b);
            return keys[i] == -1 ? -1 : values[i];
        }
    }

    void encodeWord(String word, IntList out) {
        if (word.isEmpty()) return;
        int[] cached = cache.get(word);
        if (cached == null) {
            IntList ids = new IntList();
            merge(word, ids);
            cached = ids.toArray();
            if (cache.size() >= CACHE_LIMIT) cache.clear();
            if (word.length() < 256) cache.put(word, cached);
        }
        out.addAll(cached);
    }

    private void merge(String word, IntList out) {
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
        LongHeap queue = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) offer(queue, ids, i, i + 1);
        while (!queue.isEmpty()) {
            long top = queue.poll();
            int pos = (int) top;
            long rank = top >>> 32;
            if (dead[pos] || next[pos] < 0) continue;
            int right = next[pos];
            long m = merges.get(ids[pos], ids[right]);
            if (m < 0 || (m >>> 32) != rank) continue; // stale entry
            ids[pos] = (int) m;
            dead[right] = true;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0) offer(queue, ids, prev[pos], pos);
            if (next[pos] >= 0) offer(queue, ids, pos, next[pos]);
        }
        for (int i = 0; i >= 0 && i < n; i = next[i]) out.add(ids[i]);
    }

    private void offer(LongHeap queue, int[] ids, int left, int right) {
        long m = merges.get(ids[left], ids[right]);
        if (m >= 0) queue.add((m >>> 32) << 32 | left);
    }

    /** Binary min-heap of longs. */
    private static final class LongHeap {
        private long[] a;
        private int n;

        LongHeap(int capacity) {
            a = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return n == 0;
        }

        void add(long v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            int i = n++;
            while (i > 0 && a[(i - 1) >> 1] > v) {
                a[i] = a[(i - 1) >> 1];
                i = (i - 1) >> 1;
            }
            a[i] = v;
        }

        long poll() {
            long top = a[0];
            long v = a[--n];
            int i = 0;
            while (true) {
                int c = 2 * i + 1;
                if (c >= n) break;
                if (c + 1 < n && a[c + 1] < a[c]) c++;
                if (a[c] >= v) break;
                a[i] = a[c];
                i = c;
            }
            a[i] = v;
            return top;
        }
    }
}
