package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.tokenizer.ChatTemplate;
import org.flexidepth4j.tokenizer.ChatTemplate.Message;
import org.flexidepth4j.tokenizer.Tokenizer;
import org.flexidepth4j.tokenizer.Tokenizers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** chat-template renders as HF does; chat holds a conversation driven through standard input. */
class ChatCommandsTest {
    static final Path TINY = CliTextTest.TINY;
    static final Path TEMPLATES = Shared.path("data/chat-templates");

    /** The reference entry of expected.json for a template file, with or without the generation prompt. */
    static Map<String, Object> reference(String source, boolean generationPrompt) throws IOException {
        List<Map<String, Object>> entries = Json.MAPPER.readValue(TEMPLATES.resolve("expected.json").toFile(), new TypeReference<>() {
        });
        return entries.stream().filter(e -> e.get("source").equals(source)
                && ((Map<?, ?>) e.get("input")).get("add_generation_prompt").equals(generationPrompt)).findFirst().orElseThrow();
    }

    @Test
    void chatTemplatePrintsTheReferenceRenderingExactly(@TempDir Path tmp) throws IOException {
        Map<String, Object> ref = reference("templates/meta-llama-Llama-3.1-8B-Instruct.jinja", true);
        Path input = tmp.resolve("input.json");
        Json.MAPPER.writeValue(input.toFile(), ref.get("input"));
        String template = TEMPLATES.resolve((String) ref.get("source")).toString();
        Cli raw = Cli.run("chat-template", "--template", template, "--input", input.toString());
        assertThat(raw.code()).as(raw.err()).isZero();
        assertThat(raw.out()).isEqualTo(ref.get("expected"));
        Cli json = Cli.run("chat-template", "--template", template, "--input", input.toString(), "--json");
        assertThat(json.out()).endsWith("\n").hasLineCount(1);
        assertThat(Json.MAPPER.readTree(json.out()).get("prompt").asText()).isEqualTo(ref.get("expected"));
    }

    @Test
    void chatTemplateTakesBosAndEosFromTheModelUnlessGiven(@TempDir Path tmp) throws IOException {
        Path input = tmp.resolve("input.json");
        Files.writeString(input, "{\"messages\": [{\"role\": \"user\", \"content\": \"Héllo 🙂\"}], \"add_generation_prompt\": true}");
        Cli r = Cli.run("chat-template", "--model", TINY.toString(), "--input", input.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("<|im_start|>user\nHéllo 🙂<|im_end|>\n<|im_start|>assistant\n");

        Path bos = tmp.resolve("bos.jinja");
        Files.writeString(bos, "{{ bos_token }}|{{ eos_token }}|{{ extra }}");
        Files.writeString(input, "{\"extra\": [1, 2.5, null, true]}");
        assertThat(Cli.run("chat-template", "--template", bos.toString(), "--input", input.toString()).out()).isEqualTo("||[1, 2.5, None, True]");
        Files.writeString(input, "{\"bos_token\": \"<s>\"}");
        Path modelTemplate = tmp.resolve("model");
        Files.createDirectories(modelTemplate);
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) Files.copy(TINY.resolve(f), modelTemplate.resolve(f));
        String config = Files.readString(modelTemplate.resolve("tokenizer_config.json"));
        Map<String, Object> parsed = Json.MAPPER.readValue(config, new TypeReference<>() {
        });
        parsed.put("chat_template", "{{ bos_token }}|{{ eos_token }}");
        Json.MAPPER.writeValue(modelTemplate.resolve("tokenizer_config.json").toFile(), parsed);
        assertThat(Cli.run("chat-template", "--model", modelTemplate.toString(), "--input", input.toString()).out()).isEqualTo("<s>|<|endoftext|>");
    }

    @Test
    void chatTemplateErrorsAreOneLine(@TempDir Path tmp) throws IOException {
        Map<String, Object> gemma = reference("templates/google-gemma-2-2b-it.jinja", true);
        Path input = tmp.resolve("input.json");
        Json.MAPPER.writeValue(input.toFile(), gemma.get("input"));
        Path template = TEMPLATES.resolve("templates/google-gemma-2-2b-it.jinja");
        Cli r = Cli.run("chat-template", "--template", template.toString(), "--input", input.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("flexidepth: " + template + ": chat template: System role not supported" + System.lineSeparator());

        Path loop = tmp.resolve("loop.jinja");
        Files.writeString(loop, "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}");
        Cli hang = Cli.run("chat-template", "--template", loop.toString(), "--input", input.toString());
        assertThat(hang.err()).isEqualTo("flexidepth: " + loop + ": chat template: loops pass the limit of 1000000 iterations" + System.lineSeparator());

        Files.writeString(input, "[1, 2]");
        Cli notObject = Cli.run("chat-template", "--template", template.toString(), "--input", input.toString());
        assertThat(notObject.code()).isEqualTo(1);
        assertThat(notObject.err()).isEqualTo("flexidepth: " + input + ": expected a JSON object of template variables, got array" + System.lineSeparator());

        Files.writeString(input, "{}");
        Cli noTemplate = Cli.run("chat-template", "--model", Shared.path("models/gpt2-tokenizer").toString(), "--input", input.toString());
        assertThat(noTemplate.code()).isEqualTo(1);
        assertThat(noTemplate.err()).contains("has no chat template").hasLineCount(1);
    }

    /** Runs chat with the given lines on standard input. */
    static Cli chat(String stdin, String... args) {
        InputStream saved = System.in;
        System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
        try {
            String[] all = new String[args.length + 1];
            all[0] = "chat";
            System.arraycopy(args, 0, all, 1, args.length);
            return Cli.run(all);
        } finally {
            System.setIn(saved);
        }
    }

    @Test
    void chatHoldsAConversationThroughStandardInput() {
        Cli r = chat("Hello\n/stats\n/system Be kind.\nTell me a story\n/stats\n/reset\n/nonsense\nHello\n/exit\nnever read\n",
                "--model", TINY.toString(), "--temperature", "0", "--max-tokens", "6");
        assertThat(r.code()).as(r.err()).isZero();

        // each reply is the greedy continuation of the whole conversation rendered by the template, up to a special token
        Tokenizer tok = Tokenizers.load(TINY);
        ChatTemplate template = ChatTemplate.compile(tok.chatTemplate());
        List<Message> first = List.of(new Message("user", "Hello"));
        String reply1 = greedyReply(template.render(first, true, tok), tok);
        String secondPrompt = template.render(List.of(new Message("system", "Be kind."), new Message("user", "Hello"),
                new Message("assistant", reply1.strip()), new Message("user", "Tell me a story")), true, tok);
        String reply2 = greedyReply(secondPrompt, tok);
        String reply3 = greedyReply(template.render(List.of(new Message("system", "Be kind."), new Message("user", "Hello")), true, tok), tok);
        String nl = System.lineSeparator();
        assertThat(r.out()).isEqualTo(reply1 + nl + reply2 + nl + reply3 + nl);

        List<String> notices = r.err().lines().toList();
        assertThat(notices).anyMatch(l -> l.startsWith("[last reply: " + tok.encode(template.render(first, true, tok)).length + " prompt tokens"));
        assertThat(notices).anyMatch(l -> l.startsWith("[last reply: " + tok.encode(secondPrompt).length + " prompt tokens") && l.contains("all 2 replies"));
        assertThat(notices).contains("[system message set]", "[conversation forgotten]");
        assertThat(notices).anyMatch(l -> l.startsWith("[unknown command /nonsense"));
    }

    /** The reply generate --chat's greedy decoding gives for a rendered prompt, cut at the first special token. */
    private static String greedyReply(String prompt, Tokenizer tok) {
        return greedyReply(prompt, tok, 6);
    }

    private static String greedyReply(String prompt, Tokenizer tok, int maxTokens) {
        Cli r = Cli.run("generate", "--model", TINY.toString(), "--ids", Arrays.stream(tok.encode(prompt)).mapToObj(Integer::toString)
                .reduce((a, b) -> a + "," + b).orElseThrow(), "--temperature", "0", "--max-tokens", String.valueOf(maxTokens), "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode ids = CliTest.parse(r.out()).get("ids");
        int[] reply = new int[ids.size()];
        int n = 0;
        for (JsonNode id : ids) {
            if (tok.isSpecial(id.asInt())) break;
            reply[n++] = id.asInt();
        }
        return tok.decode(Arrays.copyOf(reply, n));
    }

    @Test
    void chatDropsTheOldestTurnsWhenTheContextIsFull() {
        String longLine = "Once upon a time there was a little dog who liked to run in the park with his friends every day.";
        Cli r = chat((longLine + "\n").repeat(4), "--model", TINY.toString(), "--temperature", "0", "--max-tokens", "8", "--context", "96");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).containsPattern("\\[the conversation no longer fits the 96-token context: dropped the oldest \\d+ messages?]");

        Cli tooLong = chat(longLine.repeat(5) + "\nHi\n", "--model", TINY.toString(), "--temperature", "0", "--max-tokens", "4", "--context", "96");
        assertThat(tooLong.code()).as(tooLong.err()).isZero();
        assertThat(tooLong.err()).contains("too long for the 96-token context with room for a reply; not sent");
        Tokenizer tok = Tokenizers.load(TINY);
        String hi = ChatTemplate.compile(tok.chatTemplate()).render(List.of(new Message("user", "Hi")), true, tok);
        assertThat(tooLong.out()).as("the turn after the refused one is answered alone").isEqualTo(greedyReply(hi, tok, 4) + System.lineSeparator());
    }

    @Test
    void chatSaysWhenTheModelHasNoTemplate() {
        Path stories = Shared.path("models/stories260K");
        Cli r = chat("Hello\n", "--model", stories.resolve("stories260K.bin").toString(), "--tokenizer", stories.resolve("tok512.bin").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("flexidepth: " + stories.resolve("stories260K.bin") + ": the tokenizer has no chat template, so this model cannot chat (use generate)"
                + System.lineSeparator());
    }
}
