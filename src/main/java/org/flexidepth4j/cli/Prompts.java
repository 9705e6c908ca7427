package org.flexidepth4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.tokenizer.ChatTemplate;
import org.flexidepth4j.tokenizer.Tokenizer;

/** What generation needs beyond the weights: the ids that end it and the chat rendering of a prompt. */
final class Prompts {
    private Prompts() {
    }

    /** EOS ids of the tokenizer and of an HF directory's config.json and generation_config.json. */
    static int[] eosIds(Model model) {
        IntStream ids = model.tokenizer() != null ? Arrays.stream(model.tokenizer().eosIds()) : IntStream.empty();
        Path source = model.source();
        if (Files.isDirectory(source)) {
            for (String name : new String[] {"config.json", "generation_config.json"}) {
                Path file = source.resolve(name);
                if (Files.isRegularFile(file)) ids = IntStream.concat(ids, idsOf(Json.read(file).path("eos_token_id")));
            }
        }
        return ids.distinct().toArray();
    }

    private static IntStream idsOf(JsonNode node) {
        if (node.canConvertToInt()) return IntStream.of(node.asInt());
        if (node.isArray()) {
            IntStream.Builder b = IntStream.builder();
            for (JsonNode n : node) if (n.canConvertToInt()) b.add(n.asInt());
            return b.build();
        }
        return IntStream.empty();
    }

    /** The prompt as one user message in the tokenizer's chat template, ready for the assistant's answer. */
    static String chat(Model model, String prompt) {
        Tokenizer tokenizer = model.requireTokenizer();
        if (tokenizer.chatTemplate() == null) throw new IllegalArgumentException(model.source() + ": the tokenizer has no chat template (drop --chat)");
        return ChatTemplate.compile(tokenizer.chatTemplate()).render(List.of(new ChatTemplate.Message("user", prompt)), true, tokenizer);
    }
}
