package org.flexidepth4j.api.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.SystemMessage;
import dev.langchain4j.service.TokenStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.flexidepth4j.Shared;
import org.flexidepth4j.api.ChatMessage;
import org.flexidepth4j.api.Engine;
import org.flexidepth4j.api.GenerationOptions;
import org.flexidepth4j.api.GenerationResult;
import org.junit.jupiter.api.Test;

/** AiServices interfaces over the in-process engine (tinylm-12l, ChatML template), greedy: they answer what the engine answers. */
class LangChain4jTest {
    static final Engine ENGINE = Engine.load(Shared.path("models/tinylm-12l"));
    static final GenerationOptions GREEDY = GenerationOptions.GREEDY.toBuilder().maxTokens(24).build();

    interface Storyteller {
        @SystemMessage("You tell short stories.")
        String tell(String request);
    }

    interface StreamingStoryteller {
        @SystemMessage("You tell short stories.")
        TokenStream tell(String request);
    }

    static GenerationResult direct(String request) {
        return ENGINE.chat(List.of(ChatMessage.system("You tell short stories."), ChatMessage.user(request)), GREEDY);
    }

    @Test
    void aiServiceAnswersWhatTheEngineAnswers() {
        Storyteller teller = AiServices.create(Storyteller.class, new FlexiDepthChatModel(ENGINE, GREEDY));
        String want = direct("A story about a dog.").text();
        assertThat(want).isNotBlank();
        assertThat(teller.tell("A story about a dog.")).isEqualTo(want);
    }

    @Test
    void streamingAiServiceStreamsTheSameAnswer() throws Exception {
        StreamingStoryteller teller = AiServices.create(StreamingStoryteller.class, new FlexiDepthStreamingChatModel(ENGINE, GREEDY));
        StringBuilder partial = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        teller.tell("A story about a dog.").onPartialResponse(partial::append).onCompleteResponse(done::complete)
                .onError(done::completeExceptionally).start();
        ChatResponse response = done.get(60, TimeUnit.SECONDS);
        GenerationResult want = direct("A story about a dog.");
        assertThat(response.aiMessage().text()).isEqualTo(want.text());
        assertThat(partial.toString()).isEqualTo(want.text());
        assertThat(response.tokenUsage().inputTokenCount()).isEqualTo(want.timings().promptTokens());
        assertThat(response.tokenUsage().outputTokenCount()).isEqualTo(want.ids().length);
    }

    @Test
    void requestParametersOverrideTheDefaults() {
        FlexiDepthChatModel model = new FlexiDepthChatModel(ENGINE, GREEDY);
        ChatResponse r = model.chat(ChatRequest.builder().messages(UserMessage.from("Hello")).maxOutputTokens(3).build());
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(3);
        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        ChatRequest withTools = ChatRequest.builder().messages(UserMessage.from("Hello"))
                .toolSpecifications(dev.langchain4j.agent.tool.ToolSpecification.builder().name("clock").build()).build();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> model.chat(withTools)).isInstanceOf(UnsupportedFeatureException.class);
    }
}
