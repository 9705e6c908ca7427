package org.flexidepth4j.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.flexidepth4j.load.EmbeddedModel;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.serve.Metrics;
import org.flexidepth4j.serve.OpenAiServer;
import org.flexidepth4j.serve.Scheduler;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "serve", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Serve the model over an OpenAI-compatible HTTP API (chat and text completions, streaming), decoding concurrent requests together.")
public final class ServeCommand implements Callable<Integer> {
    /** Context per slot when --context is not given: the model's maximum can make every slot's KV cache gigabytes. */
    static final int DEFAULT_CONTEXT = 4096;

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1", description = "address to bind (default: ${DEFAULT-VALUE}, this machine only)")
    String host;

    @Option(names = "--port", paramLabel = "N", defaultValue = "8080", description = "port (0 = any free one; default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--parallel", paramLabel = "N", defaultValue = "8",
            description = "sequences decoded together, each with its own KV cache allocated at start (1-16, default: ${DEFAULT-VALUE})")
    int parallel;

    @Option(names = "--max-queue", paramLabel = "M", defaultValue = "64", description = "requests waiting for a free slot at most; more get 429 (default: ${DEFAULT-VALUE})")
    int maxQueue;

    @Option(names = "--api-key", paramLabel = "KEY", description = "require 'Authorization: Bearer KEY' (every endpoint but /health)")
    String apiKey;

    @Option(names = "--prefill-chunk", paramLabel = "N", defaultValue = "64", description = "prompt tokens run between two decode steps (default: ${DEFAULT-VALUE})")
    int prefillChunk;

    @Option(names = "--request-timeout", paramLabel = "S", defaultValue = "600", description = "seconds a generation may run before it is cancelled (default: ${DEFAULT-VALUE})")
    int requestTimeout;

    @Option(names = "--max-body", paramLabel = "BYTES", defaultValue = "4194304", description = "largest request body accepted (default: ${DEFAULT-VALUE})")
    long maxBody;

    @Option(names = "--drain-seconds", paramLabel = "S", defaultValue = "30", description = "on SIGTERM, how long running requests may take to finish (default: ${DEFAULT-VALUE})")
    int drainSeconds;

    @Override
    public Integer call() throws Exception {
        if (requestTimeout < 1 || maxBody < 1 || drainSeconds < 0) throw new IllegalArgumentException("--request-timeout and --max-body must be >= 1, --drain-seconds >= 0");
        PrintWriter err = spec.commandLine().getErr();
        PrintStream log = System.err;
        OpenAiServer server = OpenAiServer.bind(new OpenAiServer.Config(host, port, apiKey, maxBody, Duration.ofSeconds(requestTimeout)), log);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.println("flexidepth serve: draining (up to " + drainSeconds + " s)");
            server.drain(Duration.ofSeconds(drainSeconds));
            stopped.countDown();
        }, "flexidepth-drain"));
        try {
            err.printf("flexidepth serve: listening on http://%s:%d (loading the model)%n", host, server.port());
            err.flush();
            Model model = modelOptions.load();
            model.requireTokenizer();
            int context = modelOptions.context != null ? modelOptions.contextLength(model) : Math.min(DEFAULT_CONTEXT, model.config().maxPositions());
            Scheduler.Settings settings = new Scheduler.Settings(parallel, context, maxQueue, prefillChunk);
            Metrics metrics = new Metrics(model.config().numLayers());
            Scheduler scheduler = new Scheduler(model.transformer(), settings, metrics);
            err.printf("flexidepth serve: %s, %d slots x %d tokens, KV caches %.1f MiB%n", name(model), parallel, context,
                    Scheduler.cacheBytes(model.transformer(), settings) / 1048576.0);
            err.flush();
            server.serve(new OpenAiServer.Engine(name(model), model, modelOptions.policy(model), org.flexidepth4j.api.Engine.eosIds(model), scheduler), metrics);
            err.printf("flexidepth serve: ready on http://%s:%d/v1%n", host, server.port());
            err.flush();
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
        stopped.await();
        return 0;
    }

    private String name(Model model) {
        return modelOptions.model == null ? EmbeddedModel.NAME : model.source().getFileName().toString();
    }
}
