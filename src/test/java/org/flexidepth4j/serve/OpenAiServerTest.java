package org.flexidepth4j.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.Generator;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.Sampler;
import org.flexidepth4j.tokenizer.ChatTemplate;
import org.flexidepth4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The server on loopback, driven by a client no one here wrote (LangChain4j's OpenAI module) and by raw HTTP for
 * what that client cannot send (bad input, disconnects). Greedy answers are checked against {@link Generator} run
 * in-process, and concurrent streams against the same requests served one at a time.
 */
class OpenAiServerTest {
    private static final String KEY = "test-key";
    private static final int CONTEXT = 256;
    private static Model model;
    private static OpenAiServer server;
    private static Scheduler scheduler;
    private static String base;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        model = ModelLoader.load(Shared.path("models/tinylm-12l"));
        Metrics metrics = new Metrics(model.config().numLayers());
        scheduler = new Scheduler(model.transformer(), new Scheduler.Settings(8, CONTEXT, 32, 16), metrics);
        server = OpenAiServer.bind(new OpenAiServer.Config("127.0.0.1", 0, KEY, 64 * 1024, Duration.ofSeconds(120)), new PrintStream(OutputStream.nullOutputStream()));
        base = "http://127.0.0.1:" + server.port();
        assertThat(get("/health").statusCode()).isEqualTo(503); // bound, not loaded yet
        server.serve(new OpenAiServer.Engine("tinylm-12l", model, model.defaultPolicy(), model.tokenizer().eosIds(), scheduler), metrics);
        assertThat(get("/health").statusCode()).isEqualTo(200);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static OpenAiChatModel chatModel(Integer maxTokens, List<String> stop) {
        return OpenAiChatModel.builder().baseUrl(base + "/v1").apiKey(KEY).modelName("tinylm-12l").temperature(0.0)
                .maxTokens(maxTokens).stop(stop).timeout(Duration.ofSeconds(60)).maxRetries(0).build();
    }

    private static OpenAiStreamingChatModel streamingModel(int maxTokens) {
        return OpenAiStreamingChatModel.builder().baseUrl(base + "/v1").apiKey(KEY).modelName("tinylm-12l").temperature(0.0)
                .maxTokens(maxTokens).timeout(Duration.ofSeconds(60)).build();
    }

    /** The greedy answer to one user message, generated in-process with the server's own chunking of the prompt. */
    private static String expected(String userMessage, int maxTokens) {
        Tokenizer t = model.tokenizer();
        String text = ChatTemplate.compile(t.chatTemplate()).render(List.of(new ChatTemplate.Message("user", userMessage)), true, t);
        int[] prompt = t.encode(text);
        assertThat(prompt.length).isLessThanOrEqualTo(16); // one prefill chunk, as Generator runs it
        StringBuilder out = new StringBuilder();
        Tokenizer.StreamDecoder decoder = t.streamDecoder();
        Generator.generate(model.transformer(), model.defaultPolicy(), prompt, maxTokens, CONTEXT, new Sampler(Sampler.Settings.GREEDY, t.vocabSize()),
                t.eosIds(), (id, layers) -> {
                    out.append(decoder.next(id));
                    return true;
                });
        return out.append(decoder.flush()).toString();
    }

    @Test
    void plainChatEqualsInProcessGreedyGeneration() {
        String answer = chatModel(24, null).chat("Tell me a story.");
        assertThat(answer).isNotBlank().isEqualTo(expected("Tell me a story.", 24));
    }

    @Test
    void streamingChatDeliversTheSameTextAsNonStreaming() throws Exception {
        StringBuilder partials = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streamingModel(24).chat("Tell me a story.", new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                partials.append(partial);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse response = done.get(60, TimeUnit.SECONDS);
        assertThat(partials.toString()).isEqualTo(response.aiMessage().text()).isEqualTo(expected("Tell me a story.", 24));
        assertThat(response.tokenUsage().outputTokenCount()).isEqualTo(24);
    }

    @Test
    void stopStringEndsTheAnswerBeforeIt() {
        String full = expected("Tell me a story.", 24);
        String word = full.strip().split("\\s+")[2];
        String answer = chatModel(24, List.of(word)).chat("Tell me a story.");
        assertThat(answer).isEqualTo(full.substring(0, full.indexOf(word)));
    }

    @Test
    void eightConcurrentStreamsEqualTheSameRequestsServedOneAtATime() throws Exception {
        List<String> prompts = List.of("Tell me a story.", "Once upon a time", "What is a cat?", "Hello!", "Where is the sun?",
                "A dog and a ball.", "Why is the sky blue?", "Say something nice.");
        int maxTokens = 20;
        List<String> alone = new ArrayList<>();
        for (String p : prompts) alone.add(stream(p, maxTokens).get(60, TimeUnit.SECONDS));
        long stepsBefore = metric("flexidepth_decode_steps_total"), rowsBefore = Math.round(metric("flexidepth_decode_batch_size_mean") * stepsBefore);
        List<CompletableFuture<String>> together = new ArrayList<>();
        for (String p : prompts) together.add(stream(p, maxTokens));
        for (int i = 0; i < prompts.size(); i++) assertThat(together.get(i).get(60, TimeUnit.SECONDS)).as(prompts.get(i)).isEqualTo(alone.get(i));
        long steps = metric("flexidepth_decode_steps_total") - stepsBefore;
        long rows = Math.round(metric("flexidepth_decode_batch_size_mean") * metric("flexidepth_decode_steps_total")) - rowsBefore;
        assertThat((double) rows / steps).as("mean sequences per decode step while the 8 streams ran").isGreaterThan(2.0);
    }

    private static CompletableFuture<String> stream(String prompt, int maxTokens) {
        StringBuilder text = new StringBuilder();
        CompletableFuture<String> done = new CompletableFuture<>();
        streamingModel(maxTokens).chat(prompt, new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                text.append(partial);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(text.toString());
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        return done;
    }

    @Test
    void responsesCarryTheLayersEachTokenUsed() throws Exception {
        HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"temperature\":0}");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode o = Json.MAPPER.readTree(r.body());
        JsonNode layers = o.get("layers_used");
        assertThat(layers.size()).isEqualTo(o.path("usage").path("completion_tokens").asInt());
        double sum = 0;
        for (JsonNode l : layers) {
            assertThat(l.asInt()).isBetween(0, model.config().numLayers());
            sum += l.asInt();
        }
        assertThat(o.path("usage").path("mean_layers_used").asDouble()).isEqualTo(sum / layers.size());
        assertThat(o.path("usage").path("num_layers").asInt()).isEqualTo(12);

        HttpResponse<String> dense = post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"temperature\":0,\"skip\":\"none\"}");
        for (JsonNode l : Json.MAPPER.readTree(dense.body()).get("layers_used")) assertThat(l.asInt()).isEqualTo(12);
    }

    @Test
    void streamedChunksCarryTheirTokensLayersAndUsageWhenAsked() throws Exception {
        HttpResponse<String> r = post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":6,\"temperature\":0,"
                + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        assertThat(r.statusCode()).isEqualTo(200);
        List<String> events = r.body().lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
        assertThat(events.getLast()).isEqualTo("[DONE]");
        int layersCounted = 0;
        for (String e : events.subList(0, events.size() - 2)) layersCounted += Json.MAPPER.readTree(e).path("layers_used").size();
        JsonNode usage = Json.MAPPER.readTree(events.get(events.size() - 2)).get("usage");
        assertThat(layersCounted).isEqualTo(usage.get("completion_tokens").asInt()).isEqualTo(6);
    }

    @Test
    void badInputGets400WithAnOpenAiErrorAndTheServerStaysUp() throws Exception {
        String longPrompt = "word ".repeat(400);
        String[][] cases = {
            {"/v1/chat/completions", "{\"messages\": [", "malformed JSON"},
            {"/v1/chat/completions", "[1, 2]", "JSON object"},
            {"/v1/chat/completions", "{}", "messages"},
            {"/v1/chat/completions", "{\"messages\": \"hi\"}", "messages must be"},
            {"/v1/chat/completions", "{\"messages\": [{\"role\": \"wizard\", \"content\": \"x\"}]}", "wizard"},
            {"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", "content"},
            {"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"temperature\": \"hot\"}", "temperature must be a number"},
            {"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"temperature\": -1}", "temperature"},
            {"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 0}", "max_tokens"},
            {"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 2.5}", "max_tokens must be an integer"},
            {"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"n\": 2}", "n = 1"},
            {"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"stop\": 7}", "stop"},
            {"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"skip\": \"sometimes\"}", "skip"},
            {"/v1/completions", "{\"prompt\": \"" + longPrompt + "\"}", "context"},
            {"/v1/completions", "{\"prompt\": 42}", "prompt must be a string"},
            {"/detokenize", "{\"tokens\": [1, -5]}", "tokens[1]"},
        };
        for (String[] c : cases) {
            HttpResponse<String> r = post(c[0], c[1]);
            assertThat(r.statusCode()).as(c[1]).isEqualTo(400);
            JsonNode error = Json.MAPPER.readTree(r.body()).get("error");
            assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
            assertThat(error.get("message").asText()).as(c[1]).contains(c[2]);
            assertThat(error.has("code")).isTrue();
        }
        assertThat(post("/v1/completions", "{\"prompt\": \"" + "x".repeat(70_000) + "\"}").statusCode()).isEqualTo(413);
        assertThat(get("/v1/nothing").statusCode()).isEqualTo(404);
        assertThat(get("/v1/chat/completions").statusCode()).isEqualTo(405);
        HttpResponse<String> noKey = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/models")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(noKey.statusCode()).isEqualTo(401);
        assertThat(get("/health").statusCode()).isEqualTo(200);
        assertThat(chatModel(4, null).chat("Hello!")).isNotNull();
    }

    @Test
    void modelsTokenizeAndMetricsAnswer() throws Exception {
        assertThat(Json.MAPPER.readTree(get("/v1/models").body()).path("data").get(0).path("id").asText()).isEqualTo("tinylm-12l");
        JsonNode ids = Json.MAPPER.readTree(post("/tokenize", "{\"content\": \"Once upon a time\"}").body()).get("tokens");
        assertThat(Json.MAPPER.convertValue(ids, int[].class)).isEqualTo(model.tokenizer().encode("Once upon a time"));
        JsonNode text = Json.MAPPER.readTree(post("/detokenize", "{\"tokens\": " + ids + "}").body()).get("content");
        assertThat(text.asText()).isEqualTo("Once upon a time");
        String metrics = get("/metrics").body();
        assertThat(metrics).contains("flexidepth_generated_tokens_total", "flexidepth_queue_depth", "flexidepth_active_sequences",
                "flexidepth_layers_used_per_token_mean", "flexidepth_layers_skipped_per_token_mean", "flexidepth_decode_tokens_per_second",
                "flexidepth_kv_cache_bytes " + Scheduler.cacheBytes(model.transformer(), scheduler.settings()));
    }

    @Test
    void aClientThatDisconnectsMidStreamCancelsItsSequence() throws Exception {
        String cancelled = "flexidepth_sequences_total{finish=\"cancelled\"}";
        long cancelledBefore = get("/metrics").body().contains(cancelled) ? metric(cancelled) : 0;
        String body = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 240, \"temperature\": 0, \"stream\": true, \"ignore_eos\": true}";
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            socket.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY + "\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
            String head = new String(socket.getInputStream().readNBytes(300), StandardCharsets.UTF_8);
            assertThat(head).startsWith("HTTP/1.1 200").contains("data: ");
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (metric("flexidepth_active_sequences") > 0 && System.nanoTime() < deadline) Thread.sleep(20);
        assertThat(metric("flexidepth_active_sequences")).isZero();
        assertThat(metric(cancelled) - cancelledBefore).isEqualTo(1);
    }

    @Test
    void aFullQueueGets429WithRetryAfter() throws Exception {
        Metrics metrics = new Metrics(model.config().numLayers());
        Scheduler oneSlot = new Scheduler(model.transformer(), new Scheduler.Settings(1, CONTEXT, 0, 16), metrics);
        try (OpenAiServer small = OpenAiServer.bind(new OpenAiServer.Config("127.0.0.1", 0, null, 1 << 16, Duration.ofSeconds(60)),
                new PrintStream(OutputStream.nullOutputStream()))) {
            small.serve(new OpenAiServer.Engine("tinylm-12l", model, model.defaultPolicy(), model.tokenizer().eosIds(), oneSlot), metrics);
            String body = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 240, \"stream\": true, \"ignore_eos\": true}";
            try (Socket busy = new Socket("127.0.0.1", small.port())) {
                busy.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                        .getBytes(StandardCharsets.UTF_8));
                assertThat(new String(busy.getInputStream().readNBytes(300), StandardCharsets.UTF_8)).contains("data: ");
                HttpResponse<String> refused = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + small.port() + "/v1/completions"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"Hi\", \"max_tokens\": 2}")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(refused.statusCode()).isEqualTo(429);
                assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
                assertThat(Json.MAPPER.readTree(refused.body()).path("error").path("code").asText()).isEqualTo("server_busy");
            }
        }
    }

    private static double metricValue(String name) throws Exception {
        for (String line : get("/metrics").body().split("\n")) {
            if (line.startsWith(name + " ")) return Double.parseDouble(line.substring(name.length() + 1));
        }
        throw new AssertionError("no metric " + name);
    }

    private static long metric(String name) throws Exception {
        return Math.round(metricValue(name));
    }

    private static HttpRequest.Builder authorized(String path) {
        return HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + KEY).timeout(Duration.ofSeconds(60));
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(authorized(path).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(authorized(path).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
