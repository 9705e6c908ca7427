package org.flexidepth4j.api.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import org.flexidepth4j.api.Engine;
import org.flexidepth4j.api.GenerationOptions;
import org.flexidepth4j.api.GenerationResult;

/**
 * A LangChain4j {@link StreamingChatModel} over an {@link Engine}: text reaches {@code onPartialResponse} as tokens
 * are generated, on the calling thread, and the whole answer {@code onCompleteResponse}; an error goes to
 * {@code onError}. Request parameters as in {@link FlexiDepthChatModel}.
 */
public record FlexiDepthStreamingChatModel(Engine engine, GenerationOptions defaults) implements StreamingChatModel {
    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        GenerationResult result;
        try {
            result = engine.chat(Requests.messages(request), Requests.options(defaults, request), token -> {
                if (!token.text().isEmpty()) handler.onPartialResponse(token.text());
            });
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        handler.onCompleteResponse(Requests.response(engine, result));
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }
}
