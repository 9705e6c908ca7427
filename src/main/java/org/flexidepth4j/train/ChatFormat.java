package org.flexidepth4j.train;

import java.util.List;
import org.flexidepth4j.tokenizer.ChatTemplate;
import org.flexidepth4j.tokenizer.Tokenizer;

/**
 * Renders one conversation of a JSONL chat data set ({"messages": [{"role": ..., "content": ...}, ...]}) to the
 * text the model is tuned on; the tokenizer then maps its special-token strings to their ids.
 */
@FunctionalInterface
public interface ChatFormat {
    String render(List<ChatTemplate.Message> messages);

    /** The tokenizer's own chat template (Jinja, from its config), without a generation prompt. */
    static ChatFormat of(Tokenizer tokenizer) {
        if (tokenizer.chatTemplate() == null) throw new IllegalArgumentException("the tokenizer has no chat template, needed for .jsonl chat data");
        ChatTemplate template = ChatTemplate.compile(tokenizer.chatTemplate());
        return messages -> template.render(messages, false, tokenizer);
    }
}
