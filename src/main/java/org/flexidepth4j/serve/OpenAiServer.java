package org.flexidepth4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.Sampler;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.skip.SkipModes;
import org.flexidepth4j.tokenizer.ChatTemplate;
import org.flexidepth4j.tokenizer.Tokenizer;

/**
 * An OpenAI-compatible HTTP server on the JDK's built-in server, one virtual thread per request. Generation goes
 * through a {@link Scheduler} (continuous batching); this class checks requests, turns events into JSON or
 * server-sent events, and answers errors as {@code {"error": {"message", "type", "code"}}}. It binds before the
 * model is loaded so that {@code /health} says 503 until the model is loaded and warmed up.
 */
public final class OpenAiServer implements AutoCloseable {
    /**
     * @param host           address to bind (127.0.0.1: this machine only)
     * @param port           0 picks a free port
     * @param apiKey         required as "Authorization: Bearer KEY" on every endpoint but /health; null: none
     * @param maxBodyBytes   larger request bodies get 413
     * @param requestTimeout a generation running longer is cancelled (504, or the stream ends with an error)
     */
    public record Config(String host, int port, String apiKey, long maxBodyBytes, Duration requestTimeout) {
    }

    /** What answers requests once loaded: the model, its default skip policy, the ids that end generation. */
    public record Engine(String modelName, Model model, SkipPolicy defaultPolicy, int[] eosIds, Scheduler scheduler) {
    }

    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);

    private final Config config;
    private final PrintStream log;
    private final HttpServer http;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final AtomicLong ids = new AtomicLong();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Map<String, SkipPolicy> policies = new ConcurrentHashMap<>();
    private volatile Engine engine;
    private volatile Metrics metrics;
    private volatile ChatTemplate chatTemplate;
    private volatile boolean ready;
    private volatile boolean draining;

    private OpenAiServer(Config config, PrintStream log) throws IOException {
        this.config = config;
        this.log = log;
        this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 0);
        http.createContext("/", this::handle);
        http.setExecutor(executor);
        http.start();
    }

    /** Binds and starts answering (health 503) before any model is loaded. */
    public static OpenAiServer bind(Config config, PrintStream log) throws IOException {
        return new OpenAiServer(config, log);
    }

    public int port() {
        return http.getAddress().getPort();
    }

    /** Serves {@code e}: warms the JIT with a few batched generations, then reports healthy. */
    public void serve(Engine e, Metrics m) {
        Tokenizer tokenizer = e.model().requireTokenizer();
        this.chatTemplate = tokenizer.chatTemplate() == null ? null : ChatTemplate.compile(tokenizer.chatTemplate());
        this.metrics = m;
        this.engine = e;
        warmUp(e);
        ready = true;
    }

    public boolean ready() {
        return ready;
    }

    /**
     * A few sequences generated together through the scheduler (prompts long enough for the packed prefill path,
     * then batched decode steps), so the first client does not pay for JIT compilation.
     */
    private static void warmUp(Engine e) {
        int vocab = e.model().config().vocabSize();
        int n = Math.min(4, e.scheduler().settings().parallel());
        int promptLength = Math.min(48, e.scheduler().context() - 17);
        SplittableRandom random = new SplittableRandom(1);
        List<Sequence> sequences = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                int[] prompt = random.ints(Math.max(1, promptLength), 0, vocab).toArray();
                Sequence s = new Sequence(prompt, 16, new Sampler(Sampler.Settings.GREEDY, vocab), e.defaultPolicy(), new int[0], e.model().tokenizer(), List.of());
                e.scheduler().submit(s);
                sequences.add(s);
            }
            for (Sequence s : sequences) {
                while (!(s.next(Long.MAX_VALUE) instanceof Sequence.Done)) {
                    // drain the warm-up's events
                }
            }
        } catch (Scheduler.QueueFullException | InterruptedException ex) {
            throw new IllegalStateException("warm-up failed: " + ex.getMessage(), ex);
        }
    }

    /** Refuses new generations, lets the running ones finish (cancelling them after {@code grace}), then stops. */
    public void drain(Duration grace) {
        draining = true;
        long deadline = System.nanoTime() + grace.toNanos();
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        close();
    }

    @Override
    public void close() {
        draining = true;
        Engine e = engine;
        if (e != null) e.scheduler().close();
        http.stop(0);
        executor.shutdownNow();
    }

    // ---------------------------------------------------------------- routing

    private void handle(HttpExchange ex) {
        long start = System.nanoTime();
        String method = ex.getRequestMethod(), path = ex.getRequestURI().getPath();
        int[] tokens = {0, 0};
        int status;
        try {
            status = route(ex, method, path, tokens);
        } catch (ApiException e) {
            status = e.status;
            sendError(ex, e);
        } catch (RuntimeException e) {
            status = 500;
            sendError(ex, new ApiException(500, "server_error", null, "internal error: " + e, 0));
        } finally {
            ex.close();
        }
        Metrics m = metrics;
        if (m != null) m.request(path, status);
        log.printf("%s %s %d tokens=%d+%d ms=%d%n", method, path, status, tokens[0], tokens[1], (System.nanoTime() - start) / 1_000_000);
    }

    /** Answers one request and returns its status; tokens gets the prompt and completion token counts. */
    private int route(HttpExchange ex, String method, String path, int[] tokens) {
        if (path.equals("/health")) {
            requireMethod(method, "GET");
            boolean ok = ready && !draining;
            sendJson(ex, ok ? 200 : 503, Json.MAPPER.createObjectNode().put("status", ok ? "ok" : draining ? "draining" : "loading"));
            return ok ? 200 : 503;
        }
        authorize(ex);
        Engine e = engine;
        if (e == null || !ready) throw new ApiException(503, "server_error", "loading", "the model is still loading", 5);
        switch (path) {
            case "/metrics" -> {
                requireMethod(method, "GET");
                send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.prometheus().getBytes(StandardCharsets.UTF_8));
            }
            case "/v1/models" -> {
                requireMethod(method, "GET");
                ObjectNode o = Json.MAPPER.createObjectNode().put("object", "list");
                o.putArray("data").addObject().put("id", e.modelName()).put("object", "model").put("created", 0).put("owned_by", "flexidepth4j");
                sendJson(ex, 200, o);
            }
            case "/tokenize" -> {
                requireMethod(method, "POST");
                JsonNode body = Requests.parse(readBody(ex));
                JsonNode content = body.get("content");
                if (content == null || !content.isTextual()) throw ApiException.badRequest("content must be a string");
                Tokenizer t = e.model().tokenizer();
                int[] ids = Requests.bool(body, "add_special") ? t.encodeWithSpecial(content.asText()) : t.encode(content.asText());
                ObjectNode o = Json.MAPPER.createObjectNode();
                ArrayNode arr = o.putArray("tokens");
                for (int id : ids) arr.add(id);
                tokens[0] = ids.length;
                sendJson(ex, 200, o);
            }
            case "/detokenize" -> {
                requireMethod(method, "POST");
                JsonNode body = Requests.parse(readBody(ex));
                JsonNode arr = body.get("tokens");
                if (arr == null || !arr.isArray()) throw ApiException.badRequest("tokens must be an array of token ids");
                int vocab = e.model().config().vocabSize();
                int[] ids = new int[arr.size()];
                for (int i = 0; i < ids.length; i++) {
                    JsonNode v = arr.get(i);
                    if (!v.canConvertToInt() || !v.isIntegralNumber() || v.intValue() < 0 || v.intValue() >= vocab) {
                        throw ApiException.badRequest("tokens[" + i + "] must be a token id in [0, " + vocab + ")");
                    }
                    ids[i] = v.intValue();
                }
                tokens[0] = ids.length;
                sendJson(ex, 200, Json.MAPPER.createObjectNode().put("content", e.model().tokenizer().decode(ids)));
            }
            case "/v1/chat/completions", "/v1/completions" -> {
                requireMethod(method, "POST");
                return complete(ex, e, path.equals("/v1/chat/completions"), tokens);
            }
            default -> throw new ApiException(404, "invalid_request_error", "not_found", "no endpoint " + path, 0);
        }
        return 200;
    }

    private static void requireMethod(String method, String expected) {
        if (!method.equals(expected)) throw new ApiException(405, "invalid_request_error", "method_not_allowed", "use " + expected, 0);
    }

    private void authorize(HttpExchange ex) {
        if (config.apiKey() == null) return;
        String header = ex.getRequestHeaders().getFirst("Authorization");
        byte[] given = (header == null ? "" : header).getBytes(StandardCharsets.UTF_8);
        byte[] expected = ("Bearer " + config.apiKey()).getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(given, expected)) {
            throw new ApiException(401, "authentication_error", "invalid_api_key", "missing or wrong API key (Authorization: Bearer KEY)", 0);
        }
    }

    private byte[] readBody(HttpExchange ex) {
        String length = ex.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            try {
                if (Long.parseLong(length.trim()) > config.maxBodyBytes()) throw tooLarge();
            } catch (NumberFormatException e) {
                throw ApiException.badRequest("bad Content-Length");
            }
        }
        try (InputStream in = ex.getRequestBody()) {
            byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, config.maxBodyBytes() + 1));
            if (body.length > config.maxBodyBytes()) throw tooLarge();
            return body;
        } catch (IOException e) {
            throw ApiException.badRequest("cannot read the request body: " + e.getMessage());
        }
    }

    private ApiException tooLarge() {
        return new ApiException(413, "invalid_request_error", "body_too_large", "the request body exceeds " + config.maxBodyBytes() + " bytes", 0);
    }

    // ---------------------------------------------------------------- generation

    private int complete(HttpExchange ex, Engine e, boolean chat, int[] tokens) {
        if (draining) throw new ApiException(503, "server_error", "shutting_down", "the server is shutting down", 5);
        JsonNode body = Requests.parse(readBody(ex));
        Requests.Options options = Requests.options(body);
        Tokenizer tokenizer = e.model().tokenizer();
        int[] prompt;
        if (chat) {
            List<ChatTemplate.Message> messages = Requests.messages(body);
            if (chatTemplate == null) throw ApiException.badRequest(e.modelName() + " has no chat template: use /v1/completions");
            prompt = tokenizer.encode(chatTemplate.render(messages, true, tokenizer));
        } else {
            prompt = tokenizer.encodeWithSpecial(Requests.prompt(body));
        }
        int context = e.scheduler().context();
        if (prompt.length == 0) throw ApiException.badRequest("the prompt has no tokens");
        if (prompt.length >= context) {
            throw ApiException.badRequest("context_length_exceeded", "the prompt has " + prompt.length + " tokens; this server's context holds " + context + " (prompt and completion)");
        }
        int room = context - prompt.length;
        int maxTokens = options.maxTokens() == null ? room : Math.min(options.maxTokens(), room);
        SkipPolicy policy = policy(e, options.skip());
        Sequence s = new Sequence(prompt, maxTokens, new Sampler(options.sampling(), e.model().config().vocabSize()), policy,
                options.ignoreEos() ? new int[0] : e.eosIds(), tokenizer, options.stops());
        tokens[0] = prompt.length;
        inFlight.incrementAndGet();
        try {
            try {
                e.scheduler().submit(s);
            } catch (Scheduler.QueueFullException full) {
                throw new ApiException(429, "rate_limit_error", "server_busy", full.getMessage(), 1);
            } catch (IllegalArgumentException bad) {
                throw ApiException.badRequest("context_length_exceeded", bad.getMessage());
            }
            String id = (chat ? "chatcmpl-" : "cmpl-") + Long.toHexString(System.currentTimeMillis()) + "-" + ids.incrementAndGet();
            Response r = new Response(id, chat, e.modelName(), e.model().config().numLayers());
            return options.stream() ? stream(ex, s, r, options.includeUsage(), tokens) : whole(ex, s, r, tokens);
        } finally {
            inFlight.decrementAndGet();
        }
    }

    /** The skip mode of a request: "default" is the server's own; others are parsed once and kept (policies hold no per-sequence state). */
    private SkipPolicy policy(Engine e, String mode) {
        if (mode.equals("default")) return e.defaultPolicy();
        try {
            return policies.computeIfAbsent(mode.trim().toLowerCase(java.util.Locale.ROOT), m -> {
                if (m.startsWith("static")) throw new IllegalArgumentException("skip mode static:K needs a calibration text; start the server with --skip static:K instead");
                return SkipModes.parse(m, e.model(), null, 0);
            });
        } catch (IllegalArgumentException bad) {
            throw ApiException.badRequest("skip: " + bad.getMessage());
        }
    }

    /** A non-streaming answer: waits for the end, then one JSON object. */
    private int whole(HttpExchange ex, Sequence s, Response r, int[] tokens) {
        Sequence.Done done = awaitDone(s);
        tokens[1] = done.completionTokens();
        if (done.finishReason().equals("error")) throw new ApiException(500, "server_error", null, "generation failed", 0);
        ObjectNode o = r.object(r.chat ? "chat.completion" : "text_completion");
        ObjectNode choice = o.putArray("choices").addObject().put("index", 0);
        if (r.chat) choice.putObject("message").put("role", "assistant").put("content", done.text());
        else choice.put("text", done.text());
        choice.putNull("logprobs");
        choice.put("finish_reason", done.finishReason());
        r.layers(o, done.layersUsed());
        r.usage(o, done);
        sendJson(ex, 200, o);
        return 200;
    }

    private Sequence.Done awaitDone(Sequence s) {
        long deadline = System.nanoTime() + config.requestTimeout().toNanos();
        try {
            while (true) {
                Sequence.Event event = s.next(deadline - System.nanoTime());
                if (event == null) {
                    s.cancel();
                    throw new ApiException(504, "server_error", "timeout", "the generation ran past " + config.requestTimeout().toSeconds() + " s", 0);
                }
                if (event instanceof Sequence.Done done) return done;
            }
        } catch (InterruptedException e) {
            s.cancel();
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server_error", "shutting_down", "interrupted", 0);
        }
    }

    /** Server-sent events: a chunk per piece of text (with its tokens' layers), the finish, usage if asked, [DONE]. */
    private int stream(HttpExchange ex, Sequence s, Response r, boolean includeUsage, int[] tokens) {
        long deadline = System.nanoTime() + config.requestTimeout().toNanos();
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        String kind = r.chat ? "chat.completion.chunk" : "text_completion";
        try {
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            boolean first = true;
            while (true) {
                Sequence.Event event = s.next(deadline - System.nanoTime());
                if (event == null) {
                    s.cancel();
                    ObjectNode err = Json.MAPPER.createObjectNode();
                    err.putObject("error").put("message", "the generation ran past " + config.requestTimeout().toSeconds() + " s").put("type", "server_error").put("code", "timeout");
                    event(out, err);
                    break;
                }
                if (event instanceof Sequence.Chunk chunk) {
                    ObjectNode o = r.object(kind);
                    ObjectNode choice = o.putArray("choices").addObject().put("index", 0);
                    if (r.chat) {
                        ObjectNode delta = choice.putObject("delta");
                        if (first) delta.put("role", "assistant");
                        delta.put("content", chunk.text());
                    } else {
                        choice.put("text", chunk.text());
                    }
                    choice.putNull("logprobs");
                    choice.putNull("finish_reason");
                    r.layers(o, chunk.layersUsed());
                    event(out, o);
                    first = false;
                } else if (event instanceof Sequence.Done done) {
                    tokens[1] = done.completionTokens();
                    ObjectNode o = r.object(kind);
                    ObjectNode choice = o.putArray("choices").addObject().put("index", 0);
                    if (r.chat) choice.putObject("delta");
                    else choice.put("text", "");
                    choice.putNull("logprobs");
                    choice.put("finish_reason", done.finishReason().equals("error") ? "error" : done.finishReason());
                    event(out, o);
                    if (includeUsage) {
                        ObjectNode u = r.object(kind);
                        u.putArray("choices");
                        r.usage(u, done);
                        event(out, u);
                    }
                    break;
                }
            }
            out.write(DONE);
            out.flush();
        } catch (IOException gone) {
            s.cancel(); // the client disconnected: its slot is freed at the scheduler's next step
        } catch (InterruptedException e) {
            s.cancel();
            Thread.currentThread().interrupt();
        }
        return 200;
    }

    private static void event(OutputStream out, JsonNode o) throws IOException {
        out.write(("data: " + o + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** The fields every response object of one request shares. */
    private record Response(String id, boolean chat, String model, int numLayers) {
        ObjectNode object(String kind) {
            return Json.MAPPER.createObjectNode().put("id", id).put("object", kind).put("created", System.currentTimeMillis() / 1000).put("model", model);
        }

        /** Our extra field: the layers each token of this object used. */
        void layers(ObjectNode o, int[] layersUsed) {
            ArrayNode a = o.putArray("layers_used");
            for (int u : layersUsed) a.add(u);
        }

        void usage(ObjectNode o, Sequence.Done done) {
            o.putObject("usage").put("prompt_tokens", done.promptTokens()).put("completion_tokens", done.completionTokens())
                    .put("total_tokens", done.promptTokens() + done.completionTokens())
                    .put("num_layers", numLayers).put("mean_layers_used", done.meanLayersUsed());
        }
    }

    // ---------------------------------------------------------------- responses

    private static void sendJson(HttpExchange ex, int status, JsonNode body) {
        send(ex, status, "application/json", body.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static void sendError(HttpExchange ex, ApiException e) {
        if (e.retryAfter > 0) ex.getResponseHeaders().set("Retry-After", Integer.toString(e.retryAfter));
        ObjectNode o = Json.MAPPER.createObjectNode();
        ObjectNode err = o.putObject("error").put("message", e.getMessage()).put("type", e.type);
        if (e.code != null) err.put("code", e.code);
        else err.putNull("code");
        sendJson(ex, e.status, o);
    }

    private static void send(HttpExchange ex, int status, String contentType, byte[] body) {
        try {
            ex.getResponseHeaders().set("Content-Type", contentType);
            ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        } catch (IOException e) {
            // the client is gone; nothing to answer
        }
    }
}
