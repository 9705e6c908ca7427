package org.flexidepth4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.flexidepth4j.Shared;
import org.flexidepth4j.tokenizer.ChatTemplate.Message;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {
    private static final List<Message> TWO = List.of(new Message("user", "Hello!"), new Message("assistant", "Hi, how can I help?"));

    @Test
    void rendersTinylmChatMl() {
        Tokenizer tok = SharedTokenizers.get("models/tinylm-12l");
        ChatTemplate t = ChatTemplate.compile(tok.chatTemplate());
        assertThat(t.render(TWO, false, "<|endoftext|>", "<|endoftext|>"))
                .isEqualTo("<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\nHi, how can I help?<|im_end|>\n");
        assertThat(t.render(TWO.subList(0, 1), true, tok))
                .isEqualTo("<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n");
        // the rendered prompt tokenizes with the ChatML markers as single special tokens
        int[] ids = tok.encode(t.render(TWO.subList(0, 1), true, "", ""));
        assertThat(ids[0]).isEqualTo(1);
        assertThat(ids).contains(2);
    }

    @Test
    void rendersLlama3Template() {
        String llama3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
                + "message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
                + "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
                + "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
        String out = ChatTemplate.compile(llama3).render(List.of(new Message("system", "You are helpful."), new Message("user", "  Hi \n")),
                true, "<|begin_of_text|>", "<|eot_id|>");
        assertThat(out).isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void rendersQwenStyleWhitespaceControl() {
        String qwen = """
                {%- for message in messages %}
                    {%- if loop.first and messages[0]['role'] != 'system' %}
                        {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
                    {%- endif %}
                    {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
                {%- endfor %}
                {%- if add_generation_prompt %}
                    {{- '<|im_start|>assistant\\n' }}
                {%- endif %}
                """;
        assertThat(ChatTemplate.compile(qwen).render(List.of(new Message("user", "Hi")), true, null, null))
                .isEqualTo("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void trimsAndLstripsBlocksLikeHf() {
        String t = """
                {% for m in messages %}
                  {% if m.role == 'user' %}
                U: {{ m.content }}
                  {% else %}
                A: {{ m.content }}
                  {% endif %}
                {% endfor %}
                """;
        assertThat(ChatTemplate.compile(t).render(TWO, false, "", "")).isEqualTo("U: Hello!\nA: Hi, how can I help?\n");
    }

    @Test
    void mistralTemplateRaisesOnBadRoles() {
        String mistral = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                + "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
                + "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";
        ChatTemplate t = ChatTemplate.compile(mistral);
        assertThat(t.render(List.of(new Message("user", "Hi"), new Message("assistant", "Hello!"), new Message("user", "Bye")), false, "<s>", "</s>"))
                .isEqualTo("<s>[INST] Hi [/INST]Hello!</s>[INST] Bye [/INST]");
        assertThatThrownBy(() -> t.render(List.of(new Message("assistant", "x")), false, "<s>", "</s>"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("roles must alternate");
    }

    @Test
    void expressionsFiltersAndNamespaces() {
        String t = "{% set ns = namespace(n=0) %}{% for m in messages if m.role != 'system' %}{% set ns.n = ns.n + 1 %}{% endfor %}"
                + "{{ ns.n }}|{{ messages | length }}|{{ messages[-1].content[:5] | upper }}|{{ 'yes' if x is defined else 'no' }}"
                + "|{{ messages[0] | tojson }}|{{ [1, 2, 3] | join('-') }}|{{ 7 // 2 }}{{ 7 % 4 }}|{{ 'a' ~ 1 }}|{{ 'b' in 'abc' }}";
        Map<String, Object> system = new java.util.LinkedHashMap<>();
        system.put("role", "system");
        system.put("content", "s");
        String out = ChatTemplate.compile(t).render(Map.of("messages", List.of(system, Map.of("role", "user", "content", "hello, world"))));
        assertThat(out).isEqualTo("1|2|HELLO|no|{\"role\": \"system\", \"content\": \"s\"}|1-2-3|33|a1|True");
    }

    @Test
    void rejectsBrokenTemplates() {
        assertThatThrownBy(() -> ChatTemplate.compile("{% for m in messages %}x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("endfor");
        assertThatThrownBy(() -> ChatTemplate.compile("{{ 'a' ")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unclosed");
        assertThatThrownBy(() -> ChatTemplate.compile("{% macro x() %}{% endmacro %}")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("macro");
    }
}
