package org.flexidepth4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.tokenizer.template.Limits;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Every rendering of ../shared/data/chat-templates/expected.json, which Python's jinja2 produced with HF's settings. */
class ChatTemplateRenderingsTest {
    static final Path DIR = Shared.path("data/chat-templates");
    /** What the reference renderings' strftime_now returned, whatever the format. */
    static final UnaryOperator<String> REFERENCE_NOW = format -> "07 Dec 2026";

    /** Each template compiled, by the name the renderings use for it: a file under templates/, or an inline template's name. */
    static Map<String, ChatTemplate> templates() throws IOException {
        Map<String, ChatTemplate> templates = new HashMap<>();
        try (Stream<Path> files = Files.list(DIR.resolve("templates"))) {
            for (Path f : files.toList()) templates.put("templates/" + f.getFileName(), ChatTemplate.compile(Files.readString(f)));
        }
        List<Map<String, Object>> inline = Json.MAPPER.readValue(DIR.resolve("inline-templates.json").toFile(), new TypeReference<>() {
        });
        for (Map<String, Object> t : inline) templates.put((String) t.get("name"), ChatTemplate.compile((String) t.get("template")));
        return templates;
    }

    @TestFactory
    Stream<DynamicTest> rendersEveryReferenceExactly() throws IOException {
        Map<String, ChatTemplate> templates = templates();
        List<Map<String, Object>> entries = Json.MAPPER.readValue(DIR.resolve("expected.json").toFile(), new TypeReference<>() {
        });
        assertThat(entries).hasSize(118);
        return entries.stream().map(e -> {
            @SuppressWarnings("unchecked") Map<String, Object> input = (Map<String, Object>) e.get("input");
            ChatTemplate template = templates.get((String) (e.get("source").equals("inline-templates.json") ? e.get("name") : e.get("source")));
            String title = e.get("name") + (Boolean.TRUE.equals(input.get("add_generation_prompt")) ? " +generation prompt" : "");
            return DynamicTest.dynamicTest(title, () -> {
                assertThat(template).as("template of %s", e.get("name")).isNotNull();
                if (e.get("error") != null) {
                    assertThatThrownBy(() -> template.render(input, Limits.DEFAULT, REFERENCE_NOW))
                            .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("chat template: ");
                } else {
                    assertThat(template.render(input, Limits.DEFAULT, REFERENCE_NOW)).isEqualTo(e.get("expected"));
                }
            });
        });
    }

    /**
     * The same templates on more conversations (unicode, a single user turn, no system message, tools with assistant
     * tool_calls and tool results, enable_thinking and date_string), rendered by jinja2 as the resource's README says.
     */
    @TestFactory
    Stream<DynamicTest> rendersOtherConversationsExactly() throws IOException {
        Map<String, ChatTemplate> templates = templates();
        Map<String, Object> data;
        try (var in = ChatTemplateRenderingsTest.class.getResourceAsStream("chat-template-conversations.json")) {
            data = Json.MAPPER.readValue(in, new TypeReference<>() {
            });
        }
        @SuppressWarnings("unchecked") Map<String, Map<String, Object>> conversations = (Map<String, Map<String, Object>>) data.get("conversations");
        @SuppressWarnings("unchecked") Map<String, List<String>> tokens = (Map<String, List<String>>) data.get("bos_eos");
        @SuppressWarnings("unchecked") List<Map<String, Object>> renderings = (List<Map<String, Object>>) data.get("renderings");
        assertThat(renderings).hasSize(590);
        return renderings.stream().map(e -> {
            String name = (String) e.get("source");
            Map<String, Object> input = new HashMap<>(conversations.get((String) e.get("conv")));
            input.put("add_generation_prompt", e.get("add_generation_prompt"));
            List<String> bosEos = tokens.getOrDefault(name, List.of("<s>", "</s>"));
            input.put("bos_token", bosEos.get(0));
            input.put("eos_token", bosEos.get(1));
            String title = name + " / " + e.get("conv") + (Boolean.TRUE.equals(e.get("add_generation_prompt")) ? " +generation prompt" : "");
            return DynamicTest.dynamicTest(title, () -> {
                ChatTemplate template = templates.get(name);
                if (e.containsKey("error")) {
                    assertThatThrownBy(() -> template.render(input, Limits.DEFAULT, REFERENCE_NOW))
                            .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("chat template: ");
                } else {
                    assertThat(template.render(input, Limits.DEFAULT, REFERENCE_NOW)).isEqualTo(e.get("expected"));
                }
            });
        });
    }
}
