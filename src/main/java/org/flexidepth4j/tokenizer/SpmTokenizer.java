package org.flexidepth4j.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * SentencePiece-style BPE driven by token scores (llama2.c run.c encode(), llama.cpp's SPM tokenizer): start
 * from single characters, repeatedly merge the adjacent pair whose concatenation is the best-scoring token
 * (leftmost on ties), then spell anything not in the vocabulary as &lt;0xXX&gt; byte tokens.
 */
final class SpmTokenizer extends AbstractTokenizer {
    /**
     * @param space        what a space is written as in the vocabulary (" " in llama2.c files, "▁" in GGUF)
     * @param bytesFirst   run.c: spell unknown characters as byte tokens (id = byte + 3) before merging
     * @param addSpacePrefix prepend a space to text at the start and after every special token
     */
    record Options(String space, boolean bytesFirst, boolean addSpacePrefix, boolean addBos, boolean addEos) {
    }

    private final Map<String, Integer> vocab;
    private final float[] scores;
    private final Options options;
    private final AddedTokens added;
    private final int[] byteIds = new int[256];
    private final int unkId;

    SpmTokenizer(String[] tokens, float[] scores, boolean[] special, Map<String, Integer> vocab, int bosId, int[] eosIds, int unkId,
                 Options options, AddedTokens added) {
        super(tokens, special, bosId, eosIds);
        this.vocab = vocab;
        this.scores = scores;
        this.options = options;
        this.added = added;
        this.unkId = unkId;
        for (int b = 0; b < 256; b++) {
            byteIds[b] = options.bytesFirst() ? (b + 3 < tokens.length ? b + 3 : -1) : vocab.getOrDefault(String.format("<0x%02X>", b), -1);
        }
    }

    @Override
    public int[] encode(String text) {
        IntList out = new IntList();
        boolean prevSpecial = true;
        for (AddedTokens.Segment seg : added.split(text)) {
            if (seg.id() >= 0) {
                out.add(seg.id());
                prevSpecial = true;
                continue;
            }
            String s = options.addSpacePrefix() && prevSpecial ? " " + seg.text() : seg.text();
            encodePiece(options.space().equals(" ") ? s : s.replace(" ", options.space()), out);
            prevSpecial = false;
        }
        return out.toArray();
    }

    @Override
    public int[] encodeWithSpecial(String text) {
        IntList out = new IntList();
        if (options.addBos() && bosId >= 0) out.add(bosId);
        out.addAll(encode(text));
        if (options.addEos() && eosIds.length > 0) out.add(eosIds[0]);
        return out.toArray();
    }

    private record Bigram(float score, int left, int right, int leftVersion, int rightVersion) {
    }

    private void encodePiece(String text, IntList out) {
        int cps = text.codePointCount(0, text.length());
        String[] sym = new String[cps * 4];
        int[] ids = new int[cps * 4];
        int n = 0;
        for (int i = 0; i < text.length(); ) {
            String ch = text.substring(i, i + Character.charCount(text.codePointAt(i)));
            i += ch.length();
            Integer id = vocab.get(ch);
            if (id == null && options.bytesFirst()) {
                for (byte b : ch.getBytes(StandardCharsets.UTF_8)) {
                    ids[n] = byteIds[b & 0xFF];
                    sym[n++] = tokens[byteIds[b & 0xFF]];
                }
                continue;
            }
            ids[n] = id == null ? -1 : id;
            sym[n++] = ch;
        }
        int[] next = new int[n], prev = new int[n], version = new int[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        for (int i = 0; i + 1 < n; i++) offer(queue, sym, version, i, i + 1);
        while (!queue.isEmpty()) {
            Bigram bg = queue.poll();
            int l = bg.left, r = bg.right;
            if (sym[l] == null || sym[r] == null || version[l] != bg.leftVersion || version[r] != bg.rightVersion || next[l] != r) continue;
            sym[l] = sym[l] + sym[r];
            ids[l] = vocab.get(sym[l]);
            version[l]++;
            sym[r] = null;
            next[l] = next[r];
            if (next[l] >= 0) prev[next[l]] = l;
            if (prev[l] >= 0) offer(queue, sym, version, prev[l], l);
            if (next[l] >= 0) offer(queue, sym, version, l, next[l]);
        }
        for (int i = 0; i >= 0 && i < n; i = next[i]) {
            if (ids[i] >= 0) {
                out.add(ids[i]);
                continue;
            }
            for (byte b : sym[i].getBytes(StandardCharsets.UTF_8)) {
                int id = byteIds[b & 0xFF];
                if (id >= 0) out.add(id);
                else if (unkId >= 0) out.add(unkId);
            }
        }
    }

    private void offer(PriorityQueue<Bigram> queue, String[] sym, int[] version, int l, int r) {
        Integer id = vocab.get(sym[l] + sym[r]);
        if (id != null) queue.add(new Bigram(scores[id], l, r, version[l], version[r]));
    }

    @Override
    byte[] pieceBytes(int prevId, int id) {
        String t = tokens[id];
        int b = BpeTokenizer.byteToken(t);
        if (b >= 0) return new byte[] {(byte) b};
        if (!options.space().equals(" ")) t = t.replace(options.space(), " ");
        // run.c and llama.cpp drop the space prefix of the first word (after BOS, or at the start of a sequence)
        if ((prevId == -1 || (prevId == bosId && bosId >= 0)) && t.startsWith(" ")) t = t.substring(1);
        return t.getBytes(StandardCharsets.UTF_8);
    }

    static AddedTokens noAddedTokens() {
        return new AddedTokens(List.of());
    }
}
