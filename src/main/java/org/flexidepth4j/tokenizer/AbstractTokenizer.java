package org.flexidepth4j.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Shared vocabulary bookkeeping and byte-exact decoding: every token maps to the bytes it stands for, whole
 * sequences decode those bytes as UTF-8, and the stream decoder holds back an incomplete UTF-8 tail.
 */
abstract class AbstractTokenizer implements Tokenizer {
    protected final String[] tokens;
    protected final boolean[] special;
    protected final int bosId;
    protected final int[] eosIds;
    private String chatTemplate;

    AbstractTokenizer(String[] tokens, boolean[] special, int bosId, int[] eosIds) {
        this.tokens = tokens;
        this.special = special;
        this.bosId = bosId;
        this.eosIds = eosIds;
    }

    /**
     * The bytes of token {@code id} when it follows {@code prevId}: -1 at the start of a whole-sequence decode (where
     * SentencePiece decoders drop the leading space), -2 at the start of a stream (which may begin mid-text).
     */
    abstract byte[] pieceBytes(int prevId, int id);

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public int[] encodeWithSpecial(String text) {
        int[] ids = encode(text);
        if (bosId < 0) return ids;
        int[] out = new int[ids.length + 1];
        out[0] = bosId;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int prev = -1;
        for (int id : ids) {
            checkId(id);
            out.writeBytes(pieceBytes(prev, id));
            prev = id;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    void checkId(int id) {
        if (id < 0 || id >= tokens.length) throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (0.." + (tokens.length - 1) + ")");
    }

    @Override
    public String tokenText(int id) {
        checkId(id);
        return tokens[id];
    }

    @Override
    public int bosId() {
        return bosId;
    }

    @Override
    public int[] eosIds() {
        return eosIds.clone();
    }

    @Override
    public boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }

    @Override
    public String chatTemplate() {
        return chatTemplate;
    }

    void setChatTemplate(String template) {
        this.chatTemplate = template;
    }

    @Override
    public StreamDecoder streamDecoder() {
        return new StreamDecoder() {
            private byte[] pending = new byte[0];
            private int prev = -2;

            @Override
            public String next(int id) {
                checkId(id);
                byte[] piece = pieceBytes(prev, id);
                prev = id;
                byte[] all = Arrays.copyOf(pending, pending.length + piece.length);
                System.arraycopy(piece, 0, all, pending.length, piece.length);
                int complete = completePrefix(all);
                pending = Arrays.copyOfRange(all, complete, all.length);
                return new String(all, 0, complete, StandardCharsets.UTF_8);
            }

            @Override
            public String flush() {
                String s = new String(pending, StandardCharsets.UTF_8);
                pending = new byte[0];
                return s;
            }
        };
    }

    /** Length of the prefix that does not end inside a UTF-8 sequence that could still be completed. */
    static int completePrefix(byte[] b) {
        int n = b.length;
        for (int k = 1; k <= 3 && k <= n; k++) {
            int lead = b[n - k] & 0xFF;
            if ((lead & 0xC0) == 0x80) continue; // continuation byte: look further back for the lead
            int need = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 && lead < 0xE0 ? 2 : 1;
            if (lead >= 0xF5) need = 1;
            return need > k ? n - k : n;
        }
        return n;
    }
}
