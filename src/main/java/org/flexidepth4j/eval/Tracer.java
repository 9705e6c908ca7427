package org.flexidepth4j.eval;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.flexidepth4j.io.AtomicFiles;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.ModelConfig;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.model.Transformer;
import org.flexidepth4j.tokenizer.Tokenizer;

/**
 * The per-token layer-allocation dataset: runs documents (and optionally greedy continuations) through the model,
 * records which layers each token ran and its gates, and writes tokens.jsonl.gz, summary.json, layers.html,
 * heatmap.png and skip_by_layer.png into the output directory.
 */
public final class Tracer {
    private Tracer() {
    }

    public static TraceSummary run(TraceConfig c) {
        Tokenizer tok = c.model().requireTokenizer();
        List<String> docs = c.textFile() != null ? EvalData.paragraphs(EvalData.read(c.textFile())) : prompts(c);
        if (c.maxDocs() > 0 && docs.size() > c.maxDocs()) docs = docs.subList(0, c.maxDocs());
        if (docs.isEmpty()) throw new IllegalArgumentException((c.textFile() != null ? c.textFile() : c.promptsFile()) + ": no documents to trace");
        List<TraceRow> rows = new ArrayList<>();
        try (Progress bar = Progress.start("trace", docs.size(), c.progress())) {
            for (int d = 0; d < docs.size(); d++) {
                rows.addAll(trace(c.model().transformer(), c.policy(), tok, d, docs.get(d), c.generate(), c.contextLength()));
                bar.step();
            }
        }
        ModelConfig mc = c.model().config();
        List<Integer> routed = routedLayers(c.policy(), mc.numLayers());
        TraceSummary summary = TraceSummary.of(rows, mc.numLayers(), routed);
        write(c, rows, summary);
        return summary;
    }

    private static List<String> prompts(TraceConfig c) {
        List<String> out = new ArrayList<>();
        EvalData.forEachJson(c.promptsFile(), (line, n) -> out.add(EvalData.text(c.promptsFile(), line, n, "prompt")));
        return out;
    }

    static List<Integer> routedLayers(SkipPolicy policy, int layers) {
        List<Integer> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) if (policy.isRouted(l)) out.add(l);
        return out;
    }

    /** Rows of one document: BOS + its tokens (cut to fit), then up to {@code generate} greedy tokens. */
    static List<TraceRow> trace(Transformer tf, SkipPolicy policy, Tokenizer tok, int doc, String text, int generate, int contextLength) {
        int layers = tf.config().numLayers();
        int[] read = Prompts.withBos(tok, tok.encode(text));
        read = Arrays.copyOf(read, Math.min(read.length, contextLength - generate));
        int[] ids = Arrays.copyOf(read, read.length + generate);
        InferenceState s = tf.newState(contextLength);
        RecordingPolicy rec = new RecordingPolicy(policy, layers, read.length);
        float[][] gates = new float[ids.length][];
        boolean[][] ran = new boolean[ids.length][];
        int[] used = new int[ids.length];
        rec.expect(read.length);
        tf.forward(s, read, 0, read.length, rec, false);
        capture(s, rec, 0, read.length, layers, gates, ran, used);
        java.util.Set<Integer> eos = new java.util.HashSet<>();
        for (int e : tok.eosIds()) eos.add(e);
        int n = read.length;
        while (n < ids.length) {
            ids[n] = argmax(s.logits(), tf.config().vocabSize());
            rec.expect(1);
            tf.forward(s, ids, n, 1, rec, false);
            capture(s, rec, n, 1, layers, gates, ran, used);
            if (eos.contains(ids[n++])) break;
        }
        ids = Arrays.copyOf(ids, n);
        boolean[] repeated = TraceSummary.repeatedNgrams(ids);
        Tokenizer.StreamDecoder dec = tok.streamDecoder();
        List<TraceRow> rows = new ArrayList<>(n);
        String previous = "";
        for (int t = 0; t < n; t++) {
            boolean special = tok.isSpecial(ids[t]);
            String piece = special ? tok.tokenText(ids[t]) : dec.next(ids[t]);
            rows.add(new TraceRow(doc, t, ids[t], tok.tokenText(ids[t]), piece, t >= read.length, gates[t], ran[t], used[t],
                    TraceSummary.category(piece, previous, special), repeated[t]));
            if (!piece.isEmpty()) previous = piece;
        }
        return rows;
    }

    private static void capture(InferenceState s, RecordingPolicy rec, int first, int count, int layers, float[][] gates, boolean[][] ran, int[] used) {
        for (int t = 0; t < count; t++) {
            gates[first + t] = new float[layers];
            ran[first + t] = new boolean[layers];
            for (int l = 0; l < layers; l++) {
                gates[first + t][l] = s.gate(l, t);
                ran[first + t][l] = rec.ran(l, t);
            }
            used[first + t] = s.layersUsed(t);
        }
    }

    private static int argmax(float[] logits, int vocab) {
        int best = 0;
        for (int i = 1; i < vocab; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    static void write(TraceConfig c, List<TraceRow> rows, TraceSummary summary) {
        AtomicFiles.write(c.out().resolve("tokens.jsonl.gz"), out -> {
            try (BufferedWriter w = new BufferedWriter(new OutputStreamWriter(new GZIPOutputStream(out), StandardCharsets.UTF_8))) {
                for (TraceRow r : rows) {
                    w.write(Json.MAPPER.writeValueAsString(rowJson(r, summary.routedLayers())));
                    w.write('\n');
                }
            }
        });
        ObjectNode sj = summary.toJson();
        sj.put("model", String.valueOf(c.model().source()));
        sj.put("plugin", c.plugin());
        sj.put("source", String.valueOf(c.textFile() != null ? c.textFile() : c.promptsFile()));
        sj.put("generate", c.generate());
        try {
            AtomicFiles.writeString(c.out().resolve("summary.json"), Json.MAPPER.writer().with(SerializationFeature.INDENT_OUTPUT).writeValueAsString(sj) + "\n");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        AtomicFiles.writeString(c.out().resolve("layers.html"), TraceHtml.page(c.model().source() + (c.plugin() != null ? " with the plug-in " + c.plugin() : ""), rows, summary, TraceHtml.MAX_TOKENS));
        TraceCharts.write(c.out(), rows, summary);
    }

    static ObjectNode rowJson(TraceRow r, List<Integer> routed) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("doc", r.doc());
        o.put("pos", r.pos());
        o.put("id", r.id());
        o.put("token", r.token());
        o.put("text", r.text());
        o.put("generated", r.generated());
        ArrayNode g = o.putArray("gates");
        for (int l : routed) g.add(Math.round(r.gates()[l] * 1e4) / 1e4);
        ArrayNode skipped = o.putArray("skipped_layers");
        for (int l = 0; l < r.ran().length; l++) if (!r.ran()[l]) skipped.add(l);
        o.put("layers_used", r.layersUsed());
        o.put("category", r.category());
        o.put("repeated_ngram", r.repeated());
        return o;
    }
}
