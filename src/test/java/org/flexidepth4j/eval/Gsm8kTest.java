package org.flexidepth4j.eval;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class Gsm8kTest {
    @Test
    void extractsTheFinalNumber() {
        assertThat(Gsm8k.extractAnswer("She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18")).isEqualByComparingTo("18");
        assertThat(Gsm8k.extractAnswer("so the total is $1,234.50")).isEqualByComparingTo("1234.5");
        assertThat(Gsm8k.extractAnswer("#### 42")).isEqualByComparingTo("42");
        assertThat(Gsm8k.extractAnswer("#### -3 and then 7")).isEqualByComparingTo("-3");
        assertThat(Gsm8k.extractAnswer("He lost 5, so he has -12.")).isEqualByComparingTo("-12");
        assertThat(Gsm8k.extractAnswer("It costs -$4.")).isEqualByComparingTo("-4");
        assertThat(Gsm8k.extractAnswer("12 apples and 1,000,000 pears")).isEqualByComparingTo("1000000");
        assertThat(Gsm8k.extractAnswer("no number here")).isNull();
        assertThat(Gsm8k.matches("The answer is $1,234.50.", "#### 1234.5")).isTrue();
        assertThat(Gsm8k.matches("The answer is 18.", "#### 81")).isFalse();
        assertThat(Gsm8k.matches("nothing", "#### 0")).isFalse();
    }

    @Test
    void generationStopsAtABlankLineAndExemplarsAreNotScored() {
        FakeScorer f = new FakeScorer((c, k) -> 0.0);
        f.generated = " 5 + 3 = 8\n#### 8\n\nQuestion: 99";
        List<EvalData.Gsm8kItem> items = List.of(new EvalData.Gsm8kItem("Shot?", "1 + 1 = 2\n#### 2"),
                new EvalData.Gsm8kItem("What is 5+3?", "#### 8"), new EvalData.Gsm8kItem("And 9+9?", "#### 18"));
        TaskResult r = Gsm8k.evaluate("gsm8k", items, 1, 0, 100, f, f.tok, false);
        assertThat(r.n()).isEqualTo(2);
        assertThat(r.acc()).isEqualTo(0.5);
        assertThat(f.calls.get(0)[0]).isEqualTo("<s>Question: Shot?\nAnswer: 1 + 1 = 2\n#### 2\n\nQuestion: What is 5+3?\nAnswer:");
        // generation stopped right after the blank line: " 5 + 3 = 8\n#### 8\n\n" is 19 characters, 2 layers each
        assertThat(r.layersPerToken()).isEqualTo(2.0);
        assertThat(Gsm8k.cut(f.generated)).isEqualTo(" 5 + 3 = 8\n#### 8");
    }
}
