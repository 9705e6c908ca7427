package org.flexidepth4j.eval;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.flexidepth4j.tokenizer.Tokenizer;

/** Runs evaluation tasks against a model and writes results.json and report.md. */
public final class Evaluator {
    private Evaluator() {
    }

    /** Task settings independent of the model. */
    public record Settings(int limit, Integer shots, int window, int stride, int maxGenTokens, boolean progress) {
    }

    public static List<TaskResult> run(EvalConfig c) {
        Tokenizer tok = c.model().requireTokenizer();
        TransformerScorer scorer = new TransformerScorer(c.model().transformer(), c.policy(), c.contextLength());
        Settings s = new Settings(c.limit(), c.shots(), scorer.contextLength(), c.stride(), c.maxGenTokens(), c.progress());
        List<TaskResult> results = new ArrayList<>();
        for (TaskSpec spec : c.tasks()) results.addAll(run(spec, scorer, tok, s));
        if (c.out() != null) {
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("model", String.valueOf(c.model().source()));
            meta.put("policy", c.policy() == org.flexidepth4j.model.SkipPolicy.NONE ? "dense" : c.policy().getClass().getSimpleName());
            meta.put("plugin", c.plugin());
            meta.put("limit", c.limit());
            meta.put("shots", c.shots());
            meta.put("context_length", scorer.contextLength());
            Report.write(c.out(), meta, results);
        }
        return results;
    }

    /** One task's rows (MMLU: one per subject, then the whole). */
    public static List<TaskResult> run(TaskSpec spec, Scorer scorer, Tokenizer tok, Settings s) {
        String name = spec.label();
        int limit = s.limit();
        return switch (spec.format()) {
            case FOUNDRY -> List.of(MultipleChoice.evaluate(name, limit(EvalData.foundry(spec.path(), spec.querySuffix()), limit), scorer, tok, true, s.progress()));
            case HELLASWAG -> List.of(MultipleChoice.evaluate(name, limit(EvalData.hellaswag(spec.path()), limit), scorer, tok, true, s.progress()));
            case WINOGRANDE -> List.of(MultipleChoice.evaluate(name, limit(EvalData.winogrande(spec.path()), limit), scorer, tok, false, s.progress()));
            case LAMBADA -> List.of(Lambada.evaluate(name, limit(EvalData.lambada(spec.path()), limit), scorer, tok, s.progress()));
            case GSM8K -> List.of(Gsm8k.evaluate(name, EvalData.gsm8k(spec.path()), shots(spec, s), limit, s.maxGenTokens(), scorer, tok, s.progress()));
            case MMLU -> mmlu(spec, scorer, tok, s);
            case PERPLEXITY -> List.of(perplexity(spec, scorer, tok, s));
        };
    }

    private static int shots(TaskSpec spec, Settings s) {
        return s.shots() != null ? s.shots() : spec.defaultShots();
    }

    private static <T> List<T> limit(List<T> items, int limit) {
        return limit > 0 && limit < items.size() ? items.subList(0, limit) : items;
    }

    private static TaskResult perplexity(TaskSpec spec, Scorer scorer, Tokenizer tok, Settings s) {
        long t0 = System.nanoTime(), p0 = scorer.tokensProcessed();
        int[] tokens = Prompts.withBos(tok, tok.encode(EvalData.read(spec.path())));
        int stride = s.stride() > 0 ? s.stride() : Math.max(1, s.window() / 2);
        int windows = Perplexity.windows(tokens.length, s.window(), stride);
        if (s.limit() > 0) windows = Math.min(windows, s.limit());
        Perplexity.Nll r;
        try (Progress bar = Progress.start(spec.label(), windows, s.progress())) {
            r = Perplexity.slidingWindow(scorer, tokens, s.window(), stride, s.limit(), bar);
        }
        double sec = (System.nanoTime() - t0) / 1e9;
        return new TaskResult(spec.label(), r.tokens(), null, null, r.ppl(), (double) r.layers() / Math.max(1, r.tokens()),
                (scorer.tokensProcessed() - p0) / Math.max(sec, 1e-9), sec);
    }

    /** MMLU: {@code path} is the mmlu dir (test/, dev/); label mmlu runs every subject, mmlu_SUBJECT one. */
    private static List<TaskResult> mmlu(TaskSpec spec, Scorer scorer, Tokenizer tok, Settings s) {
        Path dir = spec.path();
        List<String> subjects;
        if (spec.mmluSubject() != null) {
            subjects = List.of(spec.mmluSubject());
        } else {
            try (Stream<Path> files = Files.list(dir.resolve("test"))) {
                subjects = files.map(p -> p.getFileName().toString()).filter(f -> f.endsWith("_test.csv"))
                        .map(f -> f.substring(0, f.length() - "_test.csv".length())).sorted().toList();
            } catch (IOException e) {
                throw new IllegalArgumentException(dir + ": not an MMLU directory with test/ and dev/ (" + e.getMessage() + ")");
            }
        }
        int shots = shots(spec, s);
        List<TaskResult> rows = new ArrayList<>();
        double n = 0, correct = 0, layers = 0, sec = 0, tokensRun = 0;
        for (String subject : subjects) {
            List<EvalData.MmluQuestion> test = limit(EvalData.mmluCsv(dir.resolve("test").resolve(subject + "_test.csv")), s.limit());
            List<EvalData.MmluQuestion> dev = shots > 0 ? EvalData.mmluCsv(dir.resolve("dev").resolve(subject + "_dev.csv")) : List.of();
            TaskResult r = MultipleChoice.evaluate("mmlu_" + subject, EvalData.mmlu(subject, test, dev, shots), scorer, tok, false, s.progress());
            rows.add(r);
            n += r.n();
            correct += r.acc() * r.n();
            layers += r.layersPerToken() * r.n();
            sec += r.seconds();
            tokensRun += r.tokensPerSecond() * r.seconds();
        }
        if (subjects.size() > 1) rows.add(new TaskResult(spec.label(), (long) n, correct / n, null, null, layers / n, tokensRun / Math.max(sec, 1e-9), sec));
        return rows;
    }
}
