package org.flexidepth4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.flexidepth4j.Shared;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StreamDecoderTest {
    private static final String TEXT = "Emoji 😀👍🏽🇫🇷 and CJK 日本語の文章, accents café, math ∑x² — done.\n";

    @ParameterizedTest
    @ValueSource(strings = {"models/tinylm-12l", "models/mistral-tokenizer", "models/llama2-tokenizer/tokenizer.bin",
            "models/stories260K/tok512.bin", "models/ggml-vocab/ggml-vocab-llama-spm.gguf", "models/ggml-vocab/ggml-vocab-gpt-2.gguf"})
    void streamsWholeCharactersOnly(String path) {
        Tokenizer tok = SharedTokenizers.get(path);
        int[] ids = tok.encodeWithSpecial(TEXT);
        Tokenizer.StreamDecoder dec = tok.streamDecoder();
        StringBuilder out = new StringBuilder();
        int pieces = 0;
        for (int id : ids) {
            String piece = dec.next(id);
            for (int i = 0; i < piece.length(); i++) {
                char c = piece.charAt(i);
                assertThat(c).as("no replacement characters").isNotEqualTo('\uFFFD');
                if (Character.isHighSurrogate(c)) assertThat(i + 1 < piece.length() && Character.isLowSurrogate(piece.charAt(i + 1))).isTrue();
                if (Character.isLowSurrogate(c)) assertThat(i > 0 && Character.isHighSurrogate(piece.charAt(i - 1))).isTrue();
            }
            if (!piece.isEmpty()) pieces++;
            out.append(piece);
        }
        assertThat(dec.flush()).isEmpty();
        assertThat(pieces).isGreaterThan(5);
        // a stream that starts at the beginning of the sequence reads exactly like the whole-sequence decode
        assertThat(out.toString()).isEqualTo(tok.decode(ids));
        int from = ids.length > 0 && ids[0] == tok.bosId() ? 1 : 0;
        assertThat(tok.decode(java.util.Arrays.copyOfRange(ids, from, ids.length))).isEqualTo(TEXT);
    }

    @ParameterizedTest
    @ValueSource(strings = {"models/tinylm-12l"})
    void holdsBackPartialBytesAndFlushesThem(String path) {
        Tokenizer tok = SharedTokenizers.get(path);
        Tokenizer.StreamDecoder dec = tok.streamDecoder();
        // byte-level ids of the first two bytes of "😀" (F0 9F): nothing complete yet, flush shows one replacement
        int f0 = tok.encode("😀")[0];
        String first = dec.next(f0);
        assertThat(first).isEmpty();
        assertThat(dec.flush()).isEqualTo("\uFFFD");
    }
}
