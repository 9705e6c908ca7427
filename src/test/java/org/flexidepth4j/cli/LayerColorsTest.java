package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.flexidepth4j.tokenizer.TextStream;
import org.junit.jupiter.api.Test;

class LayerColorsTest {
    @Test
    void generateColoursEachTokenByLayersUsed() {
        StringWriter sink = new StringWriter();
        var stream = new TextStream(null, List.of(), GenerateCommand.printer(new PrintWriter(sink), 12));
        stream.accept(7, 12);
        stream.accept(8, 3);
        stream.finish();
        String all = LayerColors.start(12, 12), few = LayerColors.start(3, 12);
        assertThat(all).isNotEqualTo(few);
        assertThat(sink.toString()).isEqualTo(all + "7" + LayerColors.RESET + few + " 8" + LayerColors.RESET);
    }
}
