package org.flexidepth4j.eval;

import java.math.BigDecimal;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flexidepth4j.tokenizer.Tokenizer;

/**
 * GSM8K, generative: k-shot chain of thought ("Question: ...\nAnswer: ...\n\n" exemplars, as lm-eval's gsm8k task
 * formats them) built from the first k items of the file, which are then not scored; greedy generation until a blank
 * line, "Question:", EOS or the token limit; exact match of the final number.
 */
public final class Gsm8k {
    private static final Pattern STRICT = Pattern.compile("####\\s*(-?\\s*\\$?\\s*-?[0-9][0-9,]*(?:\\.[0-9]+)?)");
    private static final Pattern NUMBER = Pattern.compile("-?\\$?-?[0-9][0-9,]*(?:\\.[0-9]+)?");
    private static final List<String> STOPS = List.of("\n\n", "Question:");

    private Gsm8k() {
    }

    /** The answer a model output (or a gold answer) states: the number after "####", else the last number; null if none. */
    public static BigDecimal extractAnswer(String text) {
        Matcher strict = STRICT.matcher(text);
        String found = strict.find() ? strict.group(1) : null;
        if (found == null) {
            Matcher m = NUMBER.matcher(text);
            while (m.find()) found = m.group();
        }
        if (found == null) return null;
        String digits = found.replaceAll("[\\s$,]", "");
        boolean negative = digits.startsWith("-");
        digits = digits.replace("-", "");
        BigDecimal v = new BigDecimal(digits);
        return (negative ? v.negate() : v).stripTrailingZeros();
    }

    public static boolean matches(String output, String goldAnswer) {
        BigDecimal got = extractAnswer(output), want = extractAnswer(goldAnswer);
        return got != null && want != null && got.compareTo(want) == 0;
    }

    /** The prompt: {@code shots} exemplars then the question, ending "Answer:". */
    public static String prompt(List<EvalData.Gsm8kItem> shots, String question) {
        StringBuilder sb = new StringBuilder();
        for (EvalData.Gsm8kItem s : shots) sb.append("Question: ").append(s.question()).append("\nAnswer: ").append(s.answer()).append("\n\n");
        return sb.append("Question: ").append(question).append("\nAnswer:").toString();
    }

    /** The generated text cut at the first stop string. */
    static String cut(String text) {
        int end = text.length();
        for (String s : STOPS) {
            int i = text.indexOf(s);
            if (i >= 0) end = Math.min(end, i);
        }
        return text.substring(0, end);
    }

    public static TaskResult evaluate(String task, List<EvalData.Gsm8kItem> all, int shots, int limit, int maxTokens, Scorer scorer, Tokenizer tok, boolean progress) {
        if (shots >= all.size()) throw new IllegalArgumentException(task + ": " + shots + " shots leave no item of " + all.size() + " to score");
        List<EvalData.Gsm8kItem> exemplars = all.subList(0, shots);
        List<EvalData.Gsm8kItem> items = all.subList(shots, limit > 0 ? Math.min(all.size(), shots + limit) : all.size());
        long t0 = System.nanoTime(), p0 = scorer.tokensProcessed();
        long correct = 0, tokens = 0, layers = 0;
        java.util.Set<Integer> eos = new java.util.HashSet<>();
        for (int id : tok.eosIds()) eos.add(id);
        try (Progress bar = Progress.start(task, items.size(), progress)) {
            for (EvalData.Gsm8kItem item : items) {
                int[] prompt = Prompts.withBos(tok, tok.encode(prompt(exemplars, item.question())));
                Tokenizer.StreamDecoder dec = tok.streamDecoder();
                StringBuilder text = new StringBuilder();
                Scorer.Generation g = scorer.generate(prompt, maxTokens, id -> {
                    if (eos.contains(id)) return true;
                    text.append(dec.next(id));
                    return STOPS.stream().anyMatch(s -> text.indexOf(s) >= 0);
                });
                if (matches(cut(text.toString()), item.answer())) correct++;
                tokens += g.ids().length;
                layers += g.layersUsed();
                bar.step();
            }
        }
        double sec = (System.nanoTime() - t0) / 1e9;
        return new TaskResult(task, items.size(), MultipleChoice.ratio(correct, items.size()), null, null,
                (double) layers / Math.max(1, tokens), (scorer.tokensProcessed() - p0) / Math.max(sec, 1e-9), sec);
    }
}
