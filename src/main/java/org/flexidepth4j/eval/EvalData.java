package org.flexidepth4j.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;

/** Readers for the evaluation file formats of shared/data/eval (see its README), each into scorer-ready items. */
public final class EvalData {
    private EvalData() {
    }

    public record LambadaItem(String context, String target) {
    }

    public record Gsm8kItem(String question, String answer) {
    }

    public record MmluQuestion(String question, List<String> choices, int answer) {
    }

    /**
     * llm-foundry multiple-choice JSONL ({@code query}, {@code choices}, {@code gold}). The context is the query
     * plus {@code querySuffix} (e.g. "\nAnswer:" for ARC, as lm-eval prompts it) and each continuation is
     * " " + choice.
     */
    public static List<McItem> foundry(Path file, String querySuffix) {
        List<McItem> items = new ArrayList<>();
        forEachJson(file, (line, n) -> {
            String query = text(file, line, n, "query");
            List<String> choices = new ArrayList<>();
            JsonNode cs = n.get("choices");
            if (cs == null || !cs.isArray()) throw new FormatException(file, "line " + line + ": missing \"choices\" array");
            for (JsonNode c : cs) choices.add(" " + c.asText());
            items.add(item(file, line, () -> McItem.of(query + querySuffix, choices, gold(file, line, n))));
        });
        return items;
    }

    /** WinoGrande partial scoring: the shared continuation " " + continuation after each context option. */
    public static List<McItem> winogrande(Path file) {
        List<McItem> items = new ArrayList<>();
        forEachJson(file, (line, n) -> {
            List<String> contexts = new ArrayList<>();
            JsonNode cs = n.get("context_options");
            if (cs == null || !cs.isArray()) throw new FormatException(file, "line " + line + ": missing \"context_options\" array");
            for (JsonNode c : cs) contexts.add(c.asText());
            String cont = " " + text(file, line, n, "continuation");
            items.add(item(file, line, () -> new McItem(contexts, List.of(cont), gold(file, line, n))));
        });
        return items;
    }

    public static List<LambadaItem> lambada(Path file) {
        List<LambadaItem> items = new ArrayList<>();
        forEachJson(file, (line, n) -> items.add(new LambadaItem(text(file, line, n, "context"), text(file, line, n, "continuation"))));
        return items;
    }

    public static List<Gsm8kItem> gsm8k(Path file) {
        List<Gsm8kItem> items = new ArrayList<>();
        forEachJson(file, (line, n) -> items.add(new Gsm8kItem(text(file, line, n, "question"), text(file, line, n, "answer"))));
        return items;
    }

    /**
     * llama.cpp's HellaSwag text format: 6 lines per item (context, gold label, 4 endings). Context and endings get
     * lm-eval's preprocessing; each continuation is " " + ending.
     */
    public static List<McItem> hellaswag(Path file) {
        List<String> lines = lines(file);
        while (!lines.isEmpty() && lines.getLast().isEmpty()) lines.removeLast();
        if (lines.size() % 6 != 0) throw new FormatException(file, lines.size() + " lines is not a multiple of 6 (context, label, 4 endings)");
        List<McItem> items = new ArrayList<>();
        for (int i = 0; i < lines.size(); i += 6) {
            int gold;
            try {
                gold = Integer.parseInt(lines.get(i + 1).trim());
            } catch (NumberFormatException e) {
                throw new FormatException(file, "line " + (i + 2) + ": gold label '" + lines.get(i + 1) + "' is not a number");
            }
            List<String> endings = new ArrayList<>();
            for (int k = 2; k < 6; k++) endings.add(" " + hellaswagPreprocess(lines.get(i + k)));
            int at = i + 2;
            items.add(item(file, at, () -> McItem.of(hellaswagPreprocess(lines.get(at - 2)), endings, gold)));
        }
        return items;
    }

    /** lm-eval's HellaSwag text cleanup: strip, " [title]" to ". ", drop [bracketed] tags, collapse double spaces. */
    static String hellaswagPreprocess(String text) {
        return text.strip().replace(" [title]", ". ").replaceAll("\\[.*?\\]", "").replace("  ", " ");
    }

    /** MMLU CSV: header question,choice0..3,answer. */
    public static List<MmluQuestion> mmluCsv(Path file) {
        List<List<String>> rows = csv(file);
        if (rows.isEmpty() || !rows.get(0).equals(List.of("question", "choice0", "choice1", "choice2", "choice3", "answer"))) {
            throw new FormatException(file, "expected the header question,choice0,choice1,choice2,choice3,answer");
        }
        List<MmluQuestion> out = new ArrayList<>();
        for (int r = 1; r < rows.size(); r++) {
            List<String> row = rows.get(r);
            if (row.size() != 6) throw new FormatException(file, "row " + r + ": " + row.size() + " fields, expected 6");
            int answer;
            try {
                answer = Integer.parseInt(row.get(5).trim());
            } catch (NumberFormatException e) {
                throw new FormatException(file, "row " + r + ": answer '" + row.get(5) + "' is not a number");
            }
            if (answer < 0 || answer > 3) throw new FormatException(file, "row " + r + ": answer " + answer + " is not 0-3");
            out.add(new MmluQuestion(row.get(0), row.subList(1, 5), answer));
        }
        return out;
    }

    /**
     * MMLU the lm-eval way: "The following are multiple choice questions (with answers) about SUBJECT.\n\n", then
     * {@code shots} dev questions with their answers, then the question ending "Answer:"; choices " A".." D".
     */
    public static List<McItem> mmlu(String subject, List<MmluQuestion> test, List<MmluQuestion> dev, int shots) {
        if (shots > dev.size()) throw new IllegalArgumentException("mmlu " + subject + ": " + shots + " shots requested, the dev pool has " + dev.size());
        StringBuilder prefix = new StringBuilder("The following are multiple choice questions (with answers) about " + subject.replace('_', ' ') + ".\n\n");
        for (int i = 0; i < shots; i++) {
            MmluQuestion q = dev.get(i);
            prefix.append(mmluQuestion(q)).append(' ').append(LETTERS[q.answer()]).append("\n\n");
        }
        List<String> letters = List.of(" A", " B", " C", " D");
        List<McItem> items = new ArrayList<>();
        for (MmluQuestion q : test) items.add(McItem.of(prefix + mmluQuestion(q), letters, q.answer()));
        return items;
    }

    private static final String[] LETTERS = {"A", "B", "C", "D"};

    private static String mmluQuestion(MmluQuestion q) {
        StringBuilder sb = new StringBuilder(q.question().strip()).append('\n');
        for (int i = 0; i < 4; i++) sb.append(LETTERS[i]).append(". ").append(q.choices().get(i)).append('\n');
        return sb.append("Answer:").toString();
    }

    /** RFC 4180 CSV: quoted fields may hold commas, newlines and doubled quotes. */
    static List<List<String>> csv(Path file) {
        String s = read(file);
        List<List<String>> rows = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false, any = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quoted) {
                if (c != '"') field.append(c);
                else if (i + 1 < s.length() && s.charAt(i + 1) == '"') field.append(s.charAt(++i));
                else quoted = false;
            } else if (c == '"') {
                quoted = true;
                any = true;
            } else if (c == ',') {
                row.add(field.toString());
                field.setLength(0);
                any = true;
            } else if (c == '\n' || c == '\r') {
                if (c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n') i++;
                if (any || field.length() > 0) {
                    row.add(field.toString());
                    rows.add(row);
                }
                row = new ArrayList<>();
                field.setLength(0);
                any = false;
            } else {
                field.append(c);
            }
        }
        if (quoted) throw new FormatException(file, "unterminated quoted field at the end of the file");
        if (any || field.length() > 0) {
            row.add(field.toString());
            rows.add(row);
        }
        return rows;
    }

    /** The file as text: UTF-8, BOM dropped, CRLF/CR line ends made LF. */
    public static String read(Path file) {
        try {
            String s = Files.readString(file, StandardCharsets.UTF_8);
            if (s.startsWith("\uFEFF")) s = s.substring(1);
            return s.replace("\r\n", "\n").replace('\r', '\n');
        } catch (java.nio.file.NoSuchFileException e) {
            throw new FormatException(file, "file not found");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new FormatException(file, "not valid UTF-8");
        } catch (IOException e) {
            throw new FormatException(file, "cannot read: " + e.getMessage());
        }
    }

    static List<String> lines(Path file) {
        return new ArrayList<>(List.of(read(file).split("\n", -1)));
    }

    /** Blank-line separated paragraphs, stripped, empty ones dropped. */
    public static List<String> paragraphs(String text) {
        List<String> out = new ArrayList<>();
        for (String p : text.split("\n[ \t]*\n")) {
            String t = p.strip();
            if (!t.isEmpty()) out.add(t);
        }
        return out;
    }

    interface JsonLine {
        void accept(int line, JsonNode node);
    }

    static void forEachJson(Path file, JsonLine body) {
        List<String> lines = lines(file);
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (l.isEmpty()) continue;
            JsonNode n;
            try {
                n = Json.MAPPER.readTree(l);
            } catch (JsonProcessingException e) {
                throw new FormatException(file, "line " + (i + 1) + ": bad JSON: " + e.getOriginalMessage());
            }
            if (n == null || !n.isObject()) throw new FormatException(file, "line " + (i + 1) + ": not a JSON object");
            body.accept(i + 1, n);
        }
    }

    static String text(Path file, int line, JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) throw new FormatException(file, "line " + line + ": missing text field \"" + field + "\"");
        return v.asText();
    }

    private static int gold(Path file, int line, JsonNode n) {
        JsonNode g = n.get("gold");
        if (g == null || !g.canConvertToInt()) throw new FormatException(file, "line " + line + ": missing integer \"gold\"");
        return g.asInt();
    }

    private static McItem item(Path file, int line, java.util.function.Supplier<McItem> make) {
        try {
            return make.get();
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, "line " + line + ": " + e.getMessage().toLowerCase(Locale.ROOT));
        }
    }
}
