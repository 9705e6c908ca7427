package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Streaming with stop strings: nothing of a stop string is ever printed, everything before it is. */
class TextStreamTest {
    @Test
    void holdsBackPossibleStopPrefixesAndStopsAtTheStopString() {
        StringWriter sink = new StringWriter();
        var stream = new GenerateCommand.TextStream(null, List.of("3 4"), new PrintWriter(sink), 0); // no tokenizer: ids
        assertThat(stream.accept(1, 6)).isTrue();
        assertThat(stream.accept(2, 6)).isTrue();
        assertThat(stream.accept(3, 6)).isTrue();
        assertThat(sink.toString()).isEqualTo("1 2 "); // "3" may begin "3 4"
        assertThat(stream.accept(4, 6)).isFalse();
        stream.finish();
        assertThat(sink.toString()).isEqualTo("1 2 ");
        assertThat(stream.text()).isEqualTo("1 2 ");
    }

    @Test
    void releasesHeldBackTextWhenNoStopFollows() {
        StringWriter sink = new StringWriter();
        var stream = new GenerateCommand.TextStream(null, List.of("3 4"), new PrintWriter(sink), 0);
        stream.accept(3, 6);
        stream.accept(5, 6);
        stream.finish();
        assertThat(sink.toString()).isEqualTo("3 5");
        assertThat(stream.text()).isEqualTo("3 5");
    }

    @Test
    void coloursEachTokenByLayersUsed() {
        StringWriter sink = new StringWriter();
        var stream = new GenerateCommand.TextStream(null, List.of(), new PrintWriter(sink), 12);
        stream.accept(7, 12);
        stream.accept(8, 3);
        stream.finish();
        String all = LayerColors.start(12, 12), few = LayerColors.start(3, 12);
        assertThat(all).isNotEqualTo(few);
        assertThat(sink.toString()).isEqualTo(all + "7" + LayerColors.RESET + few + " 8" + LayerColors.RESET);
    }
}
