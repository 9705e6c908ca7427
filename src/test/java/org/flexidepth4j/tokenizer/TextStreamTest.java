package org.flexidepth4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Streaming with stop strings: nothing of a stop string is ever emitted, everything before it is. */
class TextStreamTest {
    private static TextStream.Sink into(StringBuilder out) {
        return (stream, from, to) -> out.append(stream.chars(), from, to);
    }

    @Test
    void holdsBackPossibleStopPrefixesAndStopsAtTheStopString() {
        StringBuilder sink = new StringBuilder();
        var stream = new TextStream(null, List.of("3 4"), into(sink)); // no tokenizer: ids
        assertThat(stream.accept(1, 6)).isTrue();
        assertThat(stream.accept(2, 6)).isTrue();
        assertThat(stream.accept(3, 6)).isTrue();
        assertThat(sink.toString()).isEqualTo("1 2 "); // "3" may begin "3 4"
        assertThat(stream.accept(4, 6)).isFalse();
        stream.finish();
        assertThat(sink.toString()).isEqualTo("1 2 ");
        assertThat(stream.text()).isEqualTo("1 2 ");
        assertThat(stream.stopped()).isTrue();
    }

    @Test
    void releasesHeldBackTextWhenNoStopFollows() {
        StringBuilder sink = new StringBuilder();
        var stream = new TextStream(null, List.of("3 4"), into(sink));
        stream.accept(3, 6);
        stream.accept(5, 4);
        stream.finish();
        assertThat(sink.toString()).isEqualTo("3 5");
        assertThat(stream.text()).isEqualTo("3 5");
        assertThat(stream.stopped()).isFalse();
        assertThat(stream.layersAt(0)).isEqualTo(6);
        assertThat(stream.layersAt(2)).isEqualTo(4);
    }
}
