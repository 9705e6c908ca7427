package org.flexidepth4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Streaming with stop strings: nothing of a stop string is ever released, everything before it is. */
class TextAssemblerTest {
    @Test
    void holdsBackPossibleStopPrefixesAndStopsAtTheStopString() {
        var text = new TextAssembler(null, List.of("3 4")); // no tokenizer: the ids themselves
        assertThat(text.accept(1)).isTrue();
        assertThat(text.release()).isEqualTo("1");
        assertThat(text.accept(2)).isTrue();
        assertThat(text.accept(3)).isTrue();
        assertThat(text.release()).isEqualTo(" 2 "); // "3" may begin "3 4"
        assertThat(text.accept(4)).isFalse();
        assertThat(text.stopped()).isTrue();
        text.finish();
        assertThat(text.release()).isEmpty();
        assertThat(text.text()).isEqualTo("1 2 ");
    }

    @Test
    void releasesHeldBackTextWhenNoStopFollows() {
        var text = new TextAssembler(null, List.of("3 4"));
        text.accept(3);
        assertThat(text.release()).isEmpty();
        text.accept(5);
        assertThat(text.release()).isEqualTo("3 5");
        text.accept(3);
        text.finish();
        assertThat(text.release()).isEqualTo(" 3");
        assertThat(text.text()).isEqualTo("3 5 3");
        assertThat(text.stopped()).isFalse();
    }
}
