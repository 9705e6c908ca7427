package org.flexidepth4j.tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.WholeFiles;

/** Reader for llama2.c's tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length, bytes. */
final class Llama2cTokenizer {
    private static final int BOS = 1, EOS = 2;

    private Llama2cTokenizer() {
    }

    static Tokenizer load(Path file) {
        byte[] bytes = WholeFiles.bytes(file);
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 4) throw new FormatException(file, "truncated: too short for a llama2.c tokenizer");
        int maxLen = buf.getInt();
        if (maxLen <= 0 || maxLen > 1 << 16) throw new FormatException(file, "max_token_length " + maxLen + " is not plausible (not a llama2.c tokenizer.bin?)");
        List<String> tokens = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        while (buf.hasRemaining()) {
            if (buf.remaining() < 8) throw new FormatException(file, "truncated: token " + tokens.size() + " header is cut off");
            float score = buf.getFloat();
            int len = buf.getInt();
            if (len < 0 || len > maxLen || len > buf.remaining()) throw new FormatException(file, "token " + tokens.size() + " length " + len + " is invalid or runs past the end");
            byte[] b = new byte[len];
            buf.get(b);
            tokens.add(new String(b, StandardCharsets.UTF_8));
            scores.add(score);
        }
        if (tokens.size() < 259) throw new FormatException(file, "only " + tokens.size() + " tokens: a llama2.c vocabulary has at least 3 specials and 256 byte tokens");
        String[] t = tokens.toArray(String[]::new);
        float[] s = new float[t.length];
        Map<String, Integer> vocab = new HashMap<>();
        for (int i = 0; i < t.length; i++) {
            s[i] = scores.get(i);
            vocab.putIfAbsent(t[i], i);
        }
        boolean[] special = new boolean[t.length];
        special[0] = special[BOS] = special[EOS] = true;
        SpmTokenizer.Options options = new SpmTokenizer.Options(" ", true, true, true, false);
        return new SpmTokenizer(t, s, special, vocab, BOS, new int[] {EOS}, 0, options, SpmTokenizer.noAddedTokens());
    }
}
