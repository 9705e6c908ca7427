package org.flexidepth4j.train;

import java.nio.charset.StandardCharsets;
import org.flexidepth4j.tokenizer.Tokenizer;

/** One id per UTF-8 byte (id = byte + 3), EOS = 2: enough to test packing and training without a real vocabulary. */
final class FakeTokenizer implements Tokenizer {
    static final int EOS = 2;

    @Override
    public int vocabSize() {
        return 259;
    }

    @Override
    public int[] encode(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) ids[i] = (b[i] & 0xff) + 3;
        return ids;
    }

    @Override
    public int[] encodeWithSpecial(String text) {
        return encode(text);
    }

    @Override
    public String decode(int[] ids) {
        byte[] b = new byte[ids.length];
        for (int i = 0; i < ids.length; i++) b[i] = (byte) (ids[i] - 3);
        return new String(b, StandardCharsets.UTF_8);
    }

    @Override
    public String tokenText(int id) {
        return decode(new int[] {id});
    }

    @Override
    public int bosId() {
        return -1;
    }

    @Override
    public int[] eosIds() {
        return new int[] {EOS};
    }

    @Override
    public boolean isSpecial(int id) {
        return id < 3;
    }

    @Override
    public StreamDecoder streamDecoder() {
        throw new UnsupportedOperationException();
    }
}
