package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.flexidepth4j.api.Token;
import org.junit.jupiter.api.Test;

class LayerColorsTest {
    @Test
    void generateColoursEachTokenByLayersUsed() {
        String all = LayerColors.start(12, 12), few = LayerColors.start(3, 12);
        assertThat(all).isNotEqualTo(few);
        assertThat(GenerateCommand.coloured(new Token(7, "7", 12), 12) + GenerateCommand.coloured(new Token(8, " 8", 3), 12))
                .isEqualTo(all + "7" + LayerColors.RESET + few + " 8" + LayerColors.RESET);
    }
}
