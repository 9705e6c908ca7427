package org.flexidepth4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerErrorsTest {
    @TempDir
    Path tmp;

    @Test
    void missingAndEmptyInputs() throws Exception {
        assertThat(Tokenizers.fromHfDirectory(tmp)).isNull();
        assertThatThrownBy(() -> Tokenizers.load(tmp)).isInstanceOf(FormatException.class).hasMessageContaining("no tokenizer.json");
        assertThatThrownBy(() -> Tokenizers.load(tmp.resolve("nope.bin"))).isInstanceOf(FormatException.class).hasMessageContaining("not found");
    }

    @Test
    void truncatedTokenizerBin() throws Exception {
        byte[] ok = Files.readAllBytes(Shared.path("models/stories260K/tok512.bin"));
        Path cut = tmp.resolve("tok.bin");
        Files.write(cut, Arrays.copyOf(ok, ok.length - 3));
        assertThatThrownBy(() -> Tokenizers.load(cut)).isInstanceOf(FormatException.class).hasMessageContaining("tok.bin");
        Files.write(cut, new byte[] {1, 2});
        assertThatThrownBy(() -> Tokenizers.load(cut)).isInstanceOf(FormatException.class).hasMessageContaining("truncated");
    }

    @Test
    void badTokenizerJson() throws Exception {
        Files.writeString(tmp.resolve("tokenizer.json"), "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}");
        assertThatThrownBy(() -> Tokenizers.fromHfDirectory(tmp)).isInstanceOf(FormatException.class).hasMessageContaining("Unigram");
        Files.writeString(tmp.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, ");
        assertThatThrownBy(() -> Tokenizers.fromHfDirectory(tmp)).isInstanceOf(FormatException.class).hasMessageContaining("bad JSON");
        Files.writeString(tmp.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"ab\"]}}");
        assertThatThrownBy(() -> Tokenizers.fromHfDirectory(tmp)).isInstanceOf(FormatException.class).hasMessageContaining("merge");
    }

    @Test
    void idsOutsideTheVocabulary() {
        Tokenizer tok = SharedTokenizers.get("models/stories260K/tok512.bin");
        assertThatThrownBy(() -> tok.decode(new int[] {5, 512})).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("512");
        assertThatThrownBy(() -> tok.streamDecoder().next(-1)).isInstanceOf(IllegalArgumentException.class);
    }
}
