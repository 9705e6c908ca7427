package org.flexidepth4j.api.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import org.flexidepth4j.api.Engine;
import org.flexidepth4j.api.GenerationOptions;

/**
 * A LangChain4j {@link ChatModel} running in-process on an {@link Engine}: the conversation is rendered with the
 * model's chat template; the request's temperature, top-p, top-k, max output tokens and stop sequences override
 * {@code defaults}. Thread-safe, like the engine.
 */
public record FlexiDepthChatModel(Engine engine, GenerationOptions defaults) implements ChatModel {
    @Override
    public ChatResponse doChat(ChatRequest request) {
        return Requests.response(engine, engine.chat(Requests.messages(request), Requests.options(defaults, request)));
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }
}
