package org.flexidepth4j.train;

import java.util.List;

/**
 * Renders one conversation of a JSONL chat data set ({"messages": [{"role": ..., "content": ...}, ...]}) to the
 * text the model was tuned on; the tokenizer then maps its special-token strings to their ids.
 */
@FunctionalInterface
public interface ChatFormat {
    record Message(String role, String content) {
    }

    String render(List<Message> messages);

    /**
     * The format of a tokenizer's chat template. Only ChatML templates (the tinylm-12l, Qwen family) are rendered
     * here; a general Jinja renderer belongs to the tokenizer package and can be passed to {@link TextData#load}.
     */
    static ChatFormat fromTemplate(String template) {
        if (template == null) throw new IllegalArgumentException("the tokenizer has no chat template, needed for .jsonl chat data");
        if (!template.contains("<|im_start|>")) throw new IllegalArgumentException("only ChatML chat templates are supported for .jsonl chat data");
        return messages -> {
            StringBuilder sb = new StringBuilder();
            for (Message m : messages) sb.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
            return sb.toString();
        };
    }
}
