package org.flexidepth4j.eval;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A task to run: its label, its format and its file. {@code --tasks arc_easy,hellaswag} names the default files under
 * the data dir; {@code NAME=PATH} reads another split of NAME's format (NAME may carry a suffix after a dot, e.g.
 * {@code arc_easy.full=/data/arc_easy_full.jsonl}); {@code ppl=FILE} is the perplexity of any text file.
 */
public record TaskSpec(String label, Format format, Path path) {
    public enum Format {
        /** llm-foundry multiple-choice JSONL; the query suffix is how lm-eval prompts the task */
        FOUNDRY, HELLASWAG, WINOGRANDE, LAMBADA, MMLU, GSM8K, PERPLEXITY
    }

    record Known(Format format, String file, String querySuffix, int shots) {
    }

    static final Map<String, Known> KNOWN = new LinkedHashMap<>();

    static {
        KNOWN.put("arc_easy", new Known(Format.FOUNDRY, "arc_easy_test.shared.jsonl", "\nAnswer:", 0));
        KNOWN.put("arc_challenge", new Known(Format.FOUNDRY, "arc_challenge_test.shared.jsonl", "\nAnswer:", 0));
        KNOWN.put("boolq", new Known(Format.FOUNDRY, "boolq_dev.shared.jsonl", "\nAnswer:", 0));
        KNOWN.put("piqa", new Known(Format.FOUNDRY, "piqa_valid.shared.jsonl", "Answer:", 0));
        KNOWN.put("openbookqa", new Known(Format.FOUNDRY, "openbookqa_test.shared.jsonl", "", 0));
        KNOWN.put("siqa", new Known(Format.FOUNDRY, "siqa_dev.shared.jsonl", "", 0));
        KNOWN.put("commonsense_qa", new Known(Format.FOUNDRY, "commonsense_qa_dev.shared.jsonl", "", 0));
        KNOWN.put("copa", new Known(Format.FOUNDRY, "copa_dev.shared.jsonl", "", 0));
        KNOWN.put("hellaswag", new Known(Format.HELLASWAG, "hellaswag_val.shared.txt", "", 0));
        KNOWN.put("winogrande", new Known(Format.WINOGRANDE, "winogrande_dev.shared.jsonl", "", 0));
        KNOWN.put("lambada", new Known(Format.LAMBADA, "lambada_openai_test.shared.jsonl", "", 0));
        KNOWN.put("gsm8k", new Known(Format.GSM8K, "gsm8k_test.shared.jsonl", "", 5));
        KNOWN.put("mmlu", new Known(Format.MMLU, "mmlu", "", 5));
        KNOWN.put("wikitext", new Known(Format.PERPLEXITY, "../text/misc/wikitext2_raw_test_hf.txt", "", 0));
        KNOWN.put("ppl", new Known(Format.PERPLEXITY, null, "", 0));
    }

    /** The format family of a label: up to its first dot; mmlu for mmlu_SUBJECT; lambada for lambada_openai. */
    static String family(String label) {
        String base = base(label);
        if (base.startsWith("mmlu_")) return "mmlu";
        return base.equals("lambada_openai") ? "lambada" : base;
    }

    /** The label without its split suffix. */
    static String base(String label) {
        int dot = label.indexOf('.');
        return dot < 0 ? label : label.substring(0, dot);
    }

    String family() {
        return family(label);
    }

    /** The one MMLU subject of an mmlu_SUBJECT label, or null for all of them. */
    String mmluSubject() {
        String base = base(label);
        return base.startsWith("mmlu_") ? base.substring(5) : null;
    }

    String querySuffix() {
        return KNOWN.get(family()).querySuffix();
    }

    int defaultShots() {
        return KNOWN.get(family()).shots();
    }

    /** Parses a comma-separated task list against {@code dataDir}. */
    public static List<TaskSpec> parse(String list, Path dataDir) {
        List<TaskSpec> out = new ArrayList<>();
        for (String raw : list.split(",")) {
            String item = raw.strip();
            if (item.isEmpty()) continue;
            String label = item, path = null;
            int eq = item.indexOf('=');
            if (eq >= 0) {
                label = item.substring(0, eq).strip();
                path = item.substring(eq + 1).strip();
            }
            String family = family(label);
            Known k = KNOWN.get(family);
            if (k == null) throw new IllegalArgumentException("unknown task '" + base(label) + "' (known: " + String.join(", ", KNOWN.keySet()) + ", mmlu_SUBJECT)");
            if (family.equals("lambada")) label = label.replaceFirst("^lambada_openai", "lambada");
            Path p;
            if (path != null) p = Path.of(path);
            else if (k.file() == null) throw new IllegalArgumentException("task '" + label + "' needs a file: " + label + "=PATH");
            else p = dataDir.resolve(k.file()).normalize();
            if (!Files.exists(p)) throw new IllegalArgumentException("task '" + label + "': " + p + " not found (set --data-dir or give " + label + "=PATH)");
            TaskSpec spec = new TaskSpec(label, k.format(), p);
            if (spec.mmluSubject() != null && !Files.exists(p.resolve("test").resolve(spec.mmluSubject() + "_test.csv"))) {
                throw new IllegalArgumentException("task '" + label + "': no MMLU subject '" + spec.mmluSubject() + "' under " + p.resolve("test"));
            }
            out.add(spec);
        }
        if (out.isEmpty()) throw new IllegalArgumentException("no tasks given");
        return out;
    }
}
