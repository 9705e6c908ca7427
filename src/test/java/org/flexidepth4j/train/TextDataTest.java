package org.flexidepth4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.flexidepth4j.io.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextDataTest {
    @TempDir
    Path dir;

    private Path file(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void documentsArePackedWithEosBeforeEachAndTheTailDropped() throws Exception {
        Path a = file("a.txt", "ab\n\n\ncd\n");
        Path empty = file("empty.txt", "  \n");
        Path b = file("b.txt", "e");
        TextData data = TextData.load(List.of(a, empty, b), new FakeTokenizer(), 4, 259);
        // stream: EOS a b EOS c d EOS e  -> 8 tokens, 2 sequences of 4
        assertThat(data.sequences()).isEqualTo(2);
        assertThat(data.skippedFiles()).isEqualTo(1);
        int[] seq = new int[4];
        data.sequence(0, seq);
        assertThat(seq).containsExactly(2, 'a' + 3, 'b' + 3, 2);
        data.sequence(1, seq);
        assertThat(seq).containsExactly('c' + 3, 'd' + 3, 2, 'e' + 3);
    }

    @Test
    void orderIsASeededPermutation() throws Exception {
        TextData data = TextData.load(List.of(file("a.txt", "x".repeat(99))), new FakeTokenizer(), 10, 259);
        assertThat(data.order(7, 0)).isEqualTo(data.order(7, 0)).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertThat(data.order(7, 1)).isNotEqualTo(data.order(7, 0));
        TextData[] parts = data.split(2);
        assertThat(parts[0].sequences()).isEqualTo(8);
        assertThat(parts[1].sequences()).isEqualTo(2);
    }

    @Test
    void badDataIsAClearError() throws Exception {
        Path empty = file("empty.txt", "");
        assertThatThrownBy(() -> TextData.load(List.of(empty), new FakeTokenizer(), 4, 259))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fewer than one sequence");
        Path text = file("t.txt", "hello");
        assertThatThrownBy(() -> TextData.load(List.of(text), new FakeTokenizer(), 4, 100))
                .isInstanceOf(FormatException.class).hasMessageContaining("outside the model's vocabulary");
        Path binary = dir.resolve("bin.txt");
        Files.write(binary, new byte[] {(byte) 0xff, (byte) 0xfe, 0});
        assertThatThrownBy(() -> TextData.load(List.of(binary), new FakeTokenizer(), 4, 259))
                .isInstanceOf(FormatException.class).hasMessageContaining("UTF-8");
        assertThatThrownBy(() -> TextData.load(List.of(dir.resolve("missing.txt")), new FakeTokenizer(), 4, 259))
                .isInstanceOf(FormatException.class).hasMessageContaining("missing.txt: file not found");
    }

    @Test
    void jsonlChatsAreRenderedWithTheTokenizersTemplateOneDocumentEach() throws Exception {
        Path chats = file("chats.jsonl", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"yo\"}]}\n\n"
                + "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}\n");
        String chatMl = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}";
        FakeTokenizer tokenizer = new FakeTokenizer() {
            @Override
            public String chatTemplate() {
                return chatMl;
            }
        };
        String first = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n";
        String second = "<|im_start|>user\nx<|im_end|>\n";
        int total = 2 + first.length() + second.length();
        TextData data = TextData.load(List.of(chats), tokenizer, total, 259);
        int[] seq = new int[total];
        data.sequence(0, seq);
        int[] want = new int[total];
        want[0] = FakeTokenizer.EOS;
        System.arraycopy(tokenizer.encode(first), 0, want, 1, first.length());
        want[1 + first.length()] = FakeTokenizer.EOS;
        System.arraycopy(tokenizer.encode(second), 0, want, 2 + first.length(), second.length());
        assertThat(seq).isEqualTo(want);
    }

    @Test
    void badChatDataIsAClearError() throws Exception {
        ChatFormat plain = messages -> messages.getFirst().content();
        Path bad = file("bad.jsonl", "{\"messages\":[{\"role\":\"user\",\"content\":\"ok\"}]}\n{not json\n");
        assertThatThrownBy(() -> TextData.load(List.of(bad), new FakeTokenizer(), 2, 259, plain))
                .isInstanceOf(FormatException.class).hasMessageContaining("line 2: bad JSON");
        Path noMessages = file("none.jsonl", "{\"text\":\"hello\"}\n");
        assertThatThrownBy(() -> TextData.load(List.of(noMessages), new FakeTokenizer(), 2, 259, plain))
                .isInstanceOf(FormatException.class).hasMessageContaining("line 1: no \"messages\" array");
        assertThatThrownBy(() -> TextData.load(List.of(noMessages), new FakeTokenizer(), 2, 259))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no chat template");
    }
}
