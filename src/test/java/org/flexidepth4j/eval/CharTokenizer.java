package org.flexidepth4j.eval;

import org.flexidepth4j.tokenizer.Tokenizer;

/** Test tokenizer: one id per character (id = 3 + code point mod 500), BOS 1, EOS 2, for a 512-token test model. */
final class CharTokenizer implements Tokenizer {
    @Override
    public int vocabSize() {
        return 512;
    }

    @Override
    public int[] encode(String text) {
        return text.codePoints().map(c -> 3 + c % 500).toArray();
    }

    @Override
    public int[] encodeWithSpecial(String text) {
        return Prompts.withBos(this, encode(text));
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append(tokenText(id));
        return sb.toString();
    }

    @Override
    public String tokenText(int id) {
        if (id == 1) return "<s>";
        if (id == 2) return "</s>";
        if (id < 3) return "<pad>";
        return Character.toString(id - 3);
    }

    @Override
    public int bosId() {
        return 1;
    }

    @Override
    public int[] eosIds() {
        return new int[] {2};
    }

    @Override
    public boolean isSpecial(int id) {
        return id < 3;
    }

    @Override
    public StreamDecoder streamDecoder() {
        return new StreamDecoder() {
            @Override
            public String next(int id) {
                return tokenText(id);
            }

            @Override
            public String flush() {
                return "";
            }
        };
    }
}
