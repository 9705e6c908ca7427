package org.flexidepth4j.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * BPE tokenizer: added tokens are cut out of the raw text first, then each remaining piece is normalized,
 * pre-tokenized and BPE-merged. Serves HF byte-level BPE (GPT-2, Llama-3, Qwen, SmolLM), HF SentencePiece-style
 * BPE with byte fallback (Llama-2, Mistral) and GGUF "gpt2" vocabularies.
 */
final class BpeTokenizer extends AbstractTokenizer {
    /** How token strings become bytes. */
    enum Decoding {
        /** GPT-2 byte-to-unicode stand-in characters. */
        BYTE_LEVEL,
        /** "▁" is a space, "<0xXX>" is one raw byte; the Strip decoder may drop leading spaces of the sequence. */
        SENTENCEPIECE,
        /** HF Metaspace decoder alone: "▁" is a space except in the first token, where it is dropped; no byte fallback. */
        METASPACE
    }

    private final Bpe bpe;
    private final UnaryOperator<String> normalizer;
    private final PreTokenizer preTokenizer;
    private final AddedTokens added;
    private final Decoding decoding;
    private final int stripStart;
    private final int[] prefixIds;
    private final int[] suffixIds;

    BpeTokenizer(String[] tokens, boolean[] special, int bosId, int[] eosIds, Bpe bpe, UnaryOperator<String> normalizer,
                 PreTokenizer preTokenizer, AddedTokens added, Decoding decoding, int stripStart, int[] prefixIds, int[] suffixIds) {
        super(tokens, special, bosId, eosIds);
        this.bpe = bpe;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.added = added;
        this.decoding = decoding;
        this.stripStart = stripStart;
        this.prefixIds = prefixIds;
        this.suffixIds = suffixIds;
    }

    @Override
    public int[] encode(String text) {
        IntList out = new IntList();
        boolean atStart = true;
        for (AddedTokens.Segment seg : added.split(text)) {
            boolean first = atStart;
            atStart = false;
            if (seg.id() >= 0) {
                out.add(seg.id());
                continue;
            }
            String s = normalizer == null ? seg.text() : normalizer.apply(seg.text());
            if (s.isEmpty()) continue;
            List<String> words = preTokenizer == null ? List.of(s) : preTokenizer.split(List.of(s), first);
            for (String w : words) bpe.encodeWord(w, out);
        }
        return out.toArray();
    }

    @Override
    public int[] encodeWithSpecial(String text) {
        IntList out = new IntList();
        out.addAll(prefixIds);
        out.addAll(encode(text));
        out.addAll(suffixIds);
        return out.toArray();
    }

    @Override
    byte[] pieceBytes(int prevId, int id) {
        String t = tokens[id];
        if (decoding == Decoding.BYTE_LEVEL) return ByteLevel.decode(t);
        if (decoding == Decoding.METASPACE) return (prevId == -1 ? t.replace("▁", "") : t.replace('▁', ' ')).getBytes(StandardCharsets.UTF_8);
        int b = byteToken(t);
        if (b >= 0) return new byte[] {(byte) b};
        t = t.replace('▁', ' ');
        int strip = 0;
        while (prevId == -1 && strip < stripStart && strip < t.length() && t.charAt(strip) == ' ') strip++;
        return t.substring(strip).getBytes(StandardCharsets.UTF_8);
    }

    /** The byte of a "<0xXX>" token, or -1. */
    static int byteToken(String t) {
        if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') return -1;
        int hi = Character.digit(t.charAt(3), 16), lo = Character.digit(t.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }
}
