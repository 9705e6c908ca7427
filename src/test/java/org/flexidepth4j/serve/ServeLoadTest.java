package org.flexidepth4j.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.flexidepth4j.load.ModelLoader;
import org.flexidepth4j.Shared;
import org.flexidepth4j.model.Model;
import org.junit.jupiter.api.Test;

/**
 * A bounded load test on loopback: N clients stream completions back to back for a fixed time against one server
 * (tinylm-12l); every request must succeed, and heap and threads must be back where they were after warm-up.
 * Longer runs: {@code ./mvnw -o test -Dtest=ServeLoadTest -Dload.clients=16 -Dload.seconds=120} (docs/SERVING.md).
 */
class ServeLoadTest {
    private static final int CLIENTS = Integer.getInteger("load.clients", 8);
    private static final int SECONDS = Integer.getInteger("load.seconds", 6);
    /** Threads the JDK starts lazily and keeps (HttpClient workers, the virtual-thread poller): a few, not one per request. */
    private static final int THREAD_SLACK = 6;

    @Test
    void clientsStreamForABoundedTimeWithNoFailureAndFlatMemory() throws Exception {
        Model model = ModelLoader.load(Shared.path("models/tinylm-12l"));
        Metrics metrics = new Metrics(model.config().numLayers());
        Scheduler scheduler = new Scheduler(model.transformer(), new Scheduler.Settings(8, 256, 64, 32), metrics);
        try (OpenAiServer server = OpenAiServer.bind(new OpenAiServer.Config("127.0.0.1", 0, null, 1 << 20, Duration.ofSeconds(120)),
                new PrintStream(OutputStream.nullOutputStream()))) {
            server.serve(new OpenAiServer.Engine("tinylm-12l", model, model.defaultPolicy(), model.tokenizer().eosIds(), scheduler), metrics);
            URI uri = URI.create("http://127.0.0.1:" + server.port() + "/v1/completions");
            HttpClient http = HttpClient.newHttpClient();
            run(http, uri, CLIENTS, 2); // warm up: the client's and the server's threads at this concurrency
            long heapBefore = usedHeapAfterGc();
            int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();

            Result r = run(http, uri, CLIENTS, SECONDS);
            System.out.printf("load: %d clients, %d s: %d requests, %d failed, %.1f req/s, %.1f generated tok/s, latency p50 %.0f / p95 %.0f ms,"
                            + " time to first token p50 %.0f / p95 %.0f ms%n", CLIENTS, SECONDS, r.latencies.size(), r.failures.get(),
                    r.latencies.size() / (double) SECONDS, r.tokens.get() / (double) SECONDS, percentile(r.latencies, 50), percentile(r.latencies, 95),
                    percentile(r.firstTokens, 50), percentile(r.firstTokens, 95));
            assertThat(r.failures.get()).isZero();
            assertThat(r.latencies.size()).isGreaterThan(THREAD_SLACK);
            assertThat(metrics.meanLayersUsed()).isBetween(1.0, 12.0);

            long heapAfter = usedHeapAfterGc();
            System.out.printf("load: heap after GC %.1f MiB before, %.1f MiB after; threads %d before, %d after%n",
                    heapBefore / 1048576.0, heapAfter / 1048576.0, threadsBefore, ManagementFactory.getThreadMXBean().getThreadCount());
            assertThat(heapAfter - heapBefore).as("heap growth over the run").isLessThan(32L << 20);
            assertThat(ManagementFactory.getThreadMXBean().getThreadCount()).as("threads after the run; one per request would be a leak")
                    .isLessThanOrEqualTo(threadsBefore + THREAD_SLACK);
        }
    }

    private record Result(List<Double> latencies, List<Double> firstTokens, AtomicInteger failures, AtomicInteger tokens) {
    }

    /** {@code clients} virtual threads each sending streaming requests back to back until {@code seconds} have passed. */
    private static Result run(HttpClient http, URI uri, int clients, int seconds) throws Exception {
        Result r = new Result(Collections.synchronizedList(new ArrayList<>()), Collections.synchronizedList(new ArrayList<>()), new AtomicInteger(), new AtomicInteger());
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> futures = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                SplittableRandom random = new SplittableRandom(c);
                futures.add(pool.submit(() -> {
                    while (System.nanoTime() < end) {
                        int maxTokens = 8 + random.nextInt(40);
                        String body = "{\"prompt\":\"Once upon a time " + random.nextInt(1000) + "\",\"max_tokens\":" + maxTokens
                                + ",\"temperature\":0.8,\"seed\":" + random.nextInt() + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
                        long start = System.nanoTime();
                        try {
                            HttpResponse<java.util.stream.Stream<String>> resp = http.send(HttpRequest.newBuilder(uri)
                                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofLines());
                            if (resp.statusCode() != 200) {
                                r.failures.incrementAndGet();
                                continue;
                            }
                            boolean first = true, done = false;
                            for (Iterator<String> it = resp.body().iterator(); it.hasNext(); ) {
                                String line = it.next();
                                if (!line.startsWith("data: ")) continue;
                                if (first) {
                                    r.firstTokens.add((System.nanoTime() - start) / 1e6);
                                    first = false;
                                }
                                if (line.contains("\"completion_tokens\"")) {
                                    r.tokens.addAndGet(Integer.parseInt(line.replaceAll(".*\"completion_tokens\":(\\d+).*", "$1")));
                                }
                                done |= line.equals("data: [DONE]");
                            }
                            if (!done) r.failures.incrementAndGet();
                            else r.latencies.add((System.nanoTime() - start) / 1e6);
                        } catch (Exception e) {
                            r.failures.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) f.get();
        }
        return r;
    }

    private static double percentile(List<Double> values, int p) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.isEmpty() ? 0 : sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }
}
