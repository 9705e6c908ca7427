package org.flexidepth4j.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalDataTest {
    static Path eval(String f) {
        return Shared.path("data/eval/" + f);
    }

    @Test
    void arcEasyItemsAreQueryAnswerPromptAndSpacedChoices() {
        List<McItem> items = EvalData.foundry(eval("arc_easy_test.shared.jsonl"), "\nAnswer:");
        assertThat(items).hasSize(1188);
        McItem first = items.get(0);
        assertThat(first.context(0)).isEqualTo("Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:");
        assertThat(first.continuations()).hasSize(4);
        assertThat(first.continuation(0)).isEqualTo(" Sunlight is the source of energy for nearly all ecosystems.");
        assertThat(first.gold()).isZero();
        assertThat(items.get(1).gold()).isEqualTo(3);
        assertThat(items.get(1).continuation(3)).isEqualTo(" ovary cells");
    }

    @Test
    void piqaAndCopaAndSiqaKeepTheirQueries() {
        McItem piqa = EvalData.foundry(eval("piqa_valid.shared.jsonl"), "Answer:").get(0);
        assertThat(piqa.context(0)).isEqualTo("Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:");
        assertThat(piqa.choices()).isEqualTo(2);
        McItem copa = EvalData.foundry(eval("copa_dev.shared.jsonl"), "").get(0);
        assertThat(copa.context(0)).isEqualTo("The man turned on the faucet, therefore");
        assertThat(copa.continuation(1)).isEqualTo(" water flowed from the spout.");
        assertThat(copa.gold()).isEqualTo(1);
        McItem siqa = EvalData.foundry(eval("siqa_dev.shared.jsonl"), "").get(0);
        assertThat(siqa.context(0)).endsWith("B. Find somewhere to go\nAnswer:");
        assertThat(siqa.continuations()).containsExactly(" A", " B");
    }

    @Test
    void hellaswagSixLineFormat() {
        List<McItem> items = EvalData.hellaswag(eval("hellaswag_val.shared.txt"));
        assertThat(items).hasSize(5021);
        McItem first = items.get(0);
        assertThat(first.context(0)).isEqualTo("Roof shingle removal: A man is sitting on a roof. he");
        assertThat(first.gold()).isEqualTo(3);
        assertThat(first.continuation(3)).isEqualTo(" starts pulling up roofing on a roof.");
        assertThat(items.get(1).gold()).isEqualTo(2);
        assertThat(items.get(1).continuation(0)).isEqualTo(" are then shown paddling down a river in a boat while a woman talks.");
    }

    @Test
    void hellaswagPreprocessingFollowsLmEval() {
        assertThat(EvalData.hellaswagPreprocess("  Making a cake [title] Mix the flour. [step] Stir  ")).isEqualTo("Making a cake. Mix the flour. Stir");
    }

    @Test
    void winograndeSharesTheContinuation() {
        McItem w = EvalData.winogrande(eval("winogrande_dev.shared.jsonl")).get(0);
        assertThat(w.contexts()).containsExactly("Sarah was a much better surgeon than Maria so Sarah", "Sarah was a much better surgeon than Maria so Maria");
        assertThat(w.continuation(0)).isEqualTo(" always got the easier cases.").isEqualTo(w.continuation(1));
        assertThat(w.gold()).isEqualTo(1);
    }

    @Test
    void lambadaAndGsm8k() {
        EvalData.LambadaItem l = EvalData.lambada(eval("lambada_openai_test.shared.jsonl")).get(0);
        assertThat(l.context()).startsWith("In my palm is a clear stone").endsWith("I don't care about");
        assertThat(l.target()).isEqualTo("signs");
        List<EvalData.Gsm8kItem> g = EvalData.gsm8k(eval("gsm8k_test.shared.jsonl"));
        assertThat(g).hasSize(660);
        assertThat(g.get(0).question()).startsWith("Janet\u2019s ducks lay 16 eggs per day.");
        assertThat(Gsm8k.extractAnswer(g.get(0).answer())).isEqualByComparingTo("18");
    }

    @Test
    void mmluCsvWithQuotedCommasAndFewShotPrompt() {
        List<EvalData.MmluQuestion> test = EvalData.mmluCsv(eval("mmlu/test/abstract_algebra_test.csv"));
        assertThat(test.get(0).question()).isEqualTo("Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.");
        assertThat(test.get(0).choices()).containsExactly("0", "4", "2", "6");
        assertThat(test.get(0).answer()).isEqualTo(1);
        assertThat(test.get(1).choices()).containsExactly("0", "1", "0,1", "0,4");
        assertThat(test.get(1).answer()).isEqualTo(3);
        List<EvalData.MmluQuestion> dev = EvalData.mmluCsv(eval("mmlu/dev/abstract_algebra_dev.csv"));
        assertThat(dev).hasSize(5);
        McItem item = EvalData.mmlu("abstract_algebra", test.subList(0, 1), dev, 1).get(0);
        assertThat(item.context(0)).isEqualTo("The following are multiple choice questions (with answers) about abstract algebra.\n\n"
                + "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer: B\n\n"
                + "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\nA. 0\nB. 4\nC. 2\nD. 6\nAnswer:");
        assertThat(item.continuations()).containsExactly(" A", " B", " C", " D");
        assertThat(item.gold()).isEqualTo(1);
    }

    @Test
    void csvHandlesEmbeddedNewlinesAndDoubledQuotes(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("x.csv");
        Files.writeString(f, "question,choice0,choice1,choice2,choice3,answer\r\n\"Say \"\"hi\"\"\nnow\",a,\"b,c\",,d,2\r\n");
        EvalData.MmluQuestion q = EvalData.mmluCsv(f).get(0);
        assertThat(q.question()).isEqualTo("Say \"hi\"\nnow");
        assertThat(q.choices()).containsExactly("a", "b,c", "", "d");
        assertThat(q.answer()).isEqualTo(2);
    }

    @Test
    void badInputNamesFileAndLine(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.jsonl");
        Files.writeString(f, "{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 1}\n{\"query\": \"q\", \"choices\": [\"a\"\n");
        assertThatThrownBy(() -> EvalData.foundry(f, "")).isInstanceOf(FormatException.class).hasMessageContaining("bad.jsonl").hasMessageContaining("line 2");
        Files.writeString(f, "{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 2}\n");
        assertThatThrownBy(() -> EvalData.foundry(f, "")).isInstanceOf(FormatException.class).hasMessageContaining("gold 2");
        Path h = dir.resolve("h.txt");
        Files.writeString(h, "ctx\n1\na\nb\nc\n");
        assertThatThrownBy(() -> EvalData.hellaswag(h)).isInstanceOf(FormatException.class).hasMessageContaining("multiple of 6");
    }

    @Test
    void paragraphsSplitOnBlankLines() {
        assertThat(EvalData.paragraphs("a b\nc\n\n  \n d \n \nlast\n")).containsExactly("a b\nc", "d", "last");
    }
}
