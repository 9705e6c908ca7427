package org.flexidepth4j.api.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import java.util.ArrayList;
import java.util.List;
import org.flexidepth4j.api.ChatMessage;
import org.flexidepth4j.api.Engine;
import org.flexidepth4j.api.GenerationOptions;
import org.flexidepth4j.api.GenerationResult;

/** LangChain4j requests to the engine's messages and options, and its results back to a {@link ChatResponse}. */
final class Requests {
    private Requests() {
    }

    static List<ChatMessage> messages(ChatRequest request) {
        List<ChatMessage> out = new ArrayList<>();
        for (dev.langchain4j.data.message.ChatMessage m : request.messages()) {
            out.add(switch (m) {
                case SystemMessage s -> ChatMessage.system(s.text());
                case UserMessage u -> ChatMessage.user(text(u));
                case AiMessage a -> {
                    if (a.hasToolExecutionRequests()) throw new UnsupportedFeatureException("flexidepth4j: tool calls are not supported");
                    yield ChatMessage.assistant(a.text() == null ? "" : a.text());
                }
                case ToolExecutionResultMessage t -> new ChatMessage("tool", t.text());
                default -> throw new UnsupportedFeatureException("flexidepth4j: unsupported message type " + m.type());
            });
        }
        return out;
    }

    private static String text(UserMessage u) {
        if (u.hasSingleText()) return u.singleText();
        StringBuilder b = new StringBuilder();
        for (Content c : u.contents()) {
            if (!(c instanceof TextContent t)) throw new UnsupportedFeatureException("flexidepth4j: only text content is supported, got " + c.type());
            b.append(t.text());
        }
        return b.toString();
    }

    /** {@code defaults} with whatever the request sets: temperature, top-p, top-k, max output tokens, stop sequences. */
    static GenerationOptions options(GenerationOptions defaults, ChatRequest request) {
        ChatRequestParameters p = request.parameters();
        if (!p.toolSpecifications().isEmpty()) throw new UnsupportedFeatureException("flexidepth4j: tools are not supported");
        if (p.responseFormat() != null && p.responseFormat().type() == ResponseFormatType.JSON) {
            throw new UnsupportedFeatureException("flexidepth4j: JSON response format is not supported");
        }
        GenerationOptions.Builder b = defaults.toBuilder();
        if (p.temperature() != null) b.temperature(p.temperature());
        if (p.topP() != null) b.topP(p.topP());
        if (p.topK() != null) b.topK(p.topK());
        if (p.maxOutputTokens() != null) b.maxTokens(p.maxOutputTokens());
        if (!p.stopSequences().isEmpty()) b.stops(p.stopSequences());
        return b.build();
    }

    static ChatResponse response(Engine engine, GenerationResult r) {
        return ChatResponse.builder()
                .aiMessage(AiMessage.from(r.text()))
                .modelName(modelName(engine))
                .tokenUsage(new TokenUsage(r.timings().promptTokens(), r.ids().length))
                .finishReason(switch (r.stopReason()) {
                    case EOS, STOP -> FinishReason.STOP;
                    case LENGTH -> FinishReason.LENGTH;
                    case CANCELLED -> FinishReason.OTHER;
                })
                .build();
    }

    static String modelName(Engine engine) {
        return String.valueOf(engine.model().source().getFileName());
    }
}
