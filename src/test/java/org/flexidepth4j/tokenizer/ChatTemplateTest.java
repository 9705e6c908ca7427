package org.flexidepth4j.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.flexidepth4j.Shared;
import org.flexidepth4j.tokenizer.ChatTemplate.Message;
import org.flexidepth4j.tokenizer.template.Limits;
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
        assertThatThrownBy(() -> ChatTemplate.compile("{% include 'x' %}")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown tag 'include'");
        assertThatThrownBy(() -> ChatTemplate.compile("{{ x | no_such_filter }}")).hasMessageContaining("no filter named 'no_such_filter'");
        assertThatThrownBy(() -> ChatTemplate.compile("\n\n{% if x %}{% break %}{% endif %}")).hasMessage("chat template: line 3: 'break' outside of a loop");
    }


    /** Renderings by Python's jinja2 with HF's settings (trim_blocks, lstrip_blocks, loopcontrols, HF's tojson). */
    private static void assertRendersLikeJinja2(String template, String expected) {
        Map<String, Object> tools = Map.of("tools", List.of(Map.of("type", "function", "name", "a"), Map.of("type", "function", "name", "b"),
                Map.of("type", "other", "name", "c")));
        assertThat(ChatTemplate.compile(template).render(tools)).isEqualTo(expected);
    }

    @Test
    void macrosAndCallBlocks() {
        assertRendersLikeJinja2("{% macro tag(name, body='x') %}<{{ name }}>{{ body }}{{ caller() if caller is defined else '' }}</{{ name }}>{% endmacro %}{{ tag('a') }}|{{ tag('b', body='y') }}|{% call tag('c') %}inner{% endcall %}",
                "<a>x</a>|<b>y</b>|<c>xinner</c>");
    }

    @Test
    void filtersAndStringMethods() {
        assertRendersLikeJinja2("{{ tools | selectattr('type', 'equalto', 'function') | map(attribute='name') | join(',') }}|{{ tools | rejectattr('name', 'in', ['a']) | list | length }}|{{ {'b': 1, 'a': 2} | dictsort }}|{{ {'k': [1, 2.5, None, True]} | tojson(indent=2) }}|{{ 'hello world' | capitalize }} {{ 'hello wORLD-foo' | title }} {{ 'abc' | replace('b', 'X') }} {{ 3.0 | string }} {{ '42' | int + 1 }} {{ 'x' | int }}|{{ [3, 1, 2] | sort | list }}{{ ['b', 'A', 'a'] | unique | list }}|{{ {'x': 1}.items() | list }}|{{ 'a,b,,c'.split(',') }}|{{ '  pad  '.strip() }}|{{ 'Title case words'.title() }}|{{ 'line1\\nline2' | indent(2, true) }}",
                "a,b|2|[('a', 2), ('b', 1)]|{\n  \"k\": [\n    1,\n    2.5,\n    null,\n    true\n  ]\n}|Hello world Hello World-Foo aXc 3.0 43 0|[1, 2, 3]['b', 'A']|[('x', 1)]|['a', 'b', '', 'c']|pad|Title Case Words|  line1\n  line2");
    }

    @Test
    void loopControlsNamespacesAndArithmetic() {
        assertRendersLikeJinja2("{% for i in range(10) %}{% if i is even %}{% continue %}{% endif %}{% if i > 7 %}{% break %}{% endif %}{{ loop.index }}:{{ i }}{{ ',' if not loop.last }}{% endfor %}|{% set ns = namespace(total=0) %}{% for k, v in {'a': 1, 'b': 2}.items() %}{% set ns.total = ns.total + v %}{% endfor %}{{ ns.total }}|{% for x in [] %}x{% else %}empty{% endfor %}|{{ [1, 2, 3][::-1] }}{{ 'abcdef'[1:4] }}{{ (1, 'a') }}{{ 7 / 2 }}{{ 7 // 2 }}{{ -7 % 3 }}{{ 2 ** 10 }}{{ 1e20 }}{{ 0.1 + 0.2 }}",
                "2:1,4:3,6:5,8:7,|3|empty|[3, 2, 1]bcd(1, 'a')3.53210241e+200.30000000000000004");
    }

    @Test
    void literalsPrintLikePython() {
        assertRendersLikeJinja2("{{ \"it's\" }} {{ ['it\\'s', \"q\\\"\"] }} {{ '\\u00e9\\x41\\d' }} {{ none }} {{ true }} {{ {'a': none} }} {{ 'a' ~ 1 ~ none }} {{ 'x' if false }}|{{ 'abc' is string }}{{ 1 is number }}{{ [] is iterable }}{{ none is none }}{{ undefined_thing is defined }}",
                "it's [\"it's\", 'q\"'] éA\\d None True {'a': None} a1None |TrueTrueTrueTrueFalse");
    }

    @Test
    void whitespaceControlCommentsAndRaw() {
        assertRendersLikeJinja2("  {% if true %}\n    kept\n  {%- endif %}\n{#- comment #}\n  {%+ if true %}plus{% endif +%}\nafter {{- ' tight ' -}} end\n{% raw %}{{ not parsed }}{% endraw %}\n",
                "    kept  plus\nafter tight end\n{{ not parsed }}");
    }

    @Test
    void nestedLoopsStopAtTheIterationLimit() {
        ChatTemplate t = ChatTemplate.compile("{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}{% endfor %}{% endfor %}{% endfor %}");
        assertThatThrownBy(() -> t.render(Map.of())).hasMessage("chat template: loops pass the limit of 1000000 iterations");
        assertThatThrownBy(() -> ChatTemplate.compile("{% for i in range(10**12) %}{% endfor %}").render(Map.of()))
                .hasMessageContaining("passes the limit of 1000000");
    }

    @Test
    void recursionStopsAtTheCallDepthLimit() {
        ChatTemplate t = ChatTemplate.compile("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
        assertThatThrownBy(() -> t.render(Map.of())).hasMessage("chat template: calls to f() nest deeper than the limit of 100");
        String deep = "{{ " + "(".repeat(5000) + "1" + ")".repeat(5000) + " }}";
        assertThatThrownBy(() -> ChatTemplate.compile(deep)).hasMessageContaining("nested deeper than 100 levels");
    }

    @Test
    void outputStopsAtTheSizeLimit() {
        Limits small = new Limits(1000, 1_000_000, 100);
        ChatTemplate loop = ChatTemplate.compile("{% for i in range(100) %}{{ 'x' * 20 }}{% endfor %}");
        assertThatThrownBy(() -> loop.render(Map.of(), small, format -> "")).hasMessage("chat template: output passes the limit of 1000 characters");
        assertThat(loop.render(Map.of(), new Limits(2000, 1_000_000, 100), format -> "")).hasSize(2000);
        assertThatThrownBy(() -> ChatTemplate.compile("{{ 'x' * 10**12 }}").render(Map.of())).hasMessageContaining("passes the limit of 8000000");
        assertThatThrownBy(() -> ChatTemplate.compile("{% set s = namespace(v='xx') %}{% for i in range(64) %}{% set s.v = s.v + s.v %}{% endfor %}")
                .render(Map.of())).hasMessageContaining("passes the limit of 8000000");
    }

    @Test
    void raiseExceptionAndUndefinedUsesAreClearErrors() {
        assertThatThrownBy(() -> ChatTemplate.compile("{{ raise_exception('Only user and assistant roles are supported!') }}").render(Map.of()))
                .hasMessage("chat template: Only user and assistant roles are supported!");
        assertThatThrownBy(() -> ChatTemplate.compile("{{ functions.name }}").render(Map.of())).hasMessage("chat template: 'functions' is undefined");
        assertThatThrownBy(() -> ChatTemplate.compile("{{ messages.append(1) }}").render(Map.of("messages", List.of())))
                .hasMessageContaining("access to attribute 'append' of 'list' object is unsafe");
    }
}
