package org.flexidepth4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import org.flexidepth4j.io.FormatException;

/** Builds a {@link BpeTokenizer} from an HF tokenizer.json (model type BPE). */
final class HfTokenizerJson {
    private final Path file;

    private HfTokenizerJson(Path file) {
        this.file = file;
    }

    /** @param extraEosIds further ids that end generation (generation_config.json), added after the eos tokens */
    static BpeTokenizer load(Path file, JsonNode root, String bosToken, String[] eosTokens, int[] extraEosIds) {
        return new HfTokenizerJson(file).build(root, bosToken, eosTokens, extraEosIds);
    }

    private FormatException bad(String problem) {
        return new FormatException(file, problem);
    }

    private BpeTokenizer build(JsonNode root, String bosToken, String[] eosTokens, int[] extraEosIds) {
        JsonNode model = root.path("model");
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE")) throw bad("tokenizer model type " + type + " is not supported (only BPE)");
        JsonNode vocabNode = model.path("vocab");
        if (!vocabNode.isObject()) throw bad("model.vocab is missing");
        Map<String, Integer> vocab = new HashMap<>();
        int size = 0;
        for (var it = vocabNode.fields(); it.hasNext(); ) {
            var e = it.next();
            int id = e.getValue().asInt(-1);
            if (id < 0) throw bad("vocab entry " + e.getKey() + " has no valid id");
            vocab.put(e.getKey(), id);
            size = Math.max(size, id + 1);
        }
        List<AddedTokens.Token> addedList = new ArrayList<>();
        for (JsonNode a : root.path("added_tokens")) {
            String content = a.path("content").asText("");
            // HF gives an added token that is already in the model vocabulary the vocabulary's id
            int id = vocab.getOrDefault(content, a.path("id").asInt(-1));
            if (id < 0 || content.isEmpty()) throw bad("added token " + a + " lacks id or content");
            addedList.add(new AddedTokens.Token(content, id, a.path("lstrip").asBoolean(), a.path("rstrip").asBoolean(), a.path("single_word").asBoolean()));
            size = Math.max(size, id + 1);
        }
        String[] tokens = new String[size];
        vocab.forEach((t, id) -> tokens[id] = t);
        boolean[] special = new boolean[size];
        for (JsonNode a : root.path("added_tokens")) {
            String content = a.path("content").asText();
            int id = vocab.getOrDefault(content, a.path("id").asInt());
            tokens[id] = content;
            special[id] = a.path("special").asBoolean();
        }
        for (int i = 0; i < size; i++) if (tokens[i] == null) tokens[i] = "";
        Map<String, Integer> ids = new HashMap<>(vocab);
        for (AddedTokens.Token t : addedList) ids.putIfAbsent(t.content(), t.id());

        List<String[]> pairs = new ArrayList<>();
        for (JsonNode m : model.path("merges")) {
            if (m.isArray() && m.size() == 2) {
                pairs.add(new String[] {m.get(0).asText(), m.get(1).asText()});
            } else {
                String s = m.asText();
                int sp = s.indexOf(' ', 1);
                if (sp < 0) throw bad("merge '" + s + "' is not 'left right'");
                pairs.add(new String[] {s.substring(0, sp), s.substring(sp + 1)});
            }
        }
        String unk = model.path("unk_token").isTextual() ? model.path("unk_token").asText() : null;
        int unkId = unk == null ? -1 : vocab.getOrDefault(unk, -1);
        Bpe bpe = new Bpe(vocab, Bpe.mergeTable(vocab, pairs), unkId, model.path("byte_fallback").asBoolean(),
                model.path("fuse_unk").asBoolean(), model.path("ignore_merges").asBoolean());

        UnaryOperator<String> normalizer = normalizer(root.path("normalizer"));
        PreTokenizer pre = preTokenizer(root.path("pre_tokenizer"));
        JsonNode dec = root.path("decoder");
        BpeTokenizer.Decoding decoding = mentions(dec, "ByteLevel") ? BpeTokenizer.Decoding.BYTE_LEVEL
                : metaspaceStrips(dec) ? BpeTokenizer.Decoding.METASPACE : BpeTokenizer.Decoding.SENTENCEPIECE;
        int strip = stripStart(dec);

        int bos = bosToken == null ? -1 : ids.getOrDefault(bosToken, -1);
        IntList eos = new IntList();
        for (String e : eosTokens) if (e != null && ids.containsKey(e)) eos.add(ids.get(e));
        for (int id : extraEosIds) {
            if (id < 0 || id >= size) throw bad("eos token id " + id + " is outside the vocabulary of " + size);
            if (java.util.Arrays.stream(eos.toArray()).noneMatch(x -> x == id)) eos.add(id);
        }
        IntList prefix = new IntList(), suffix = new IntList();
        template(root.path("post_processor"), prefix, suffix);
        return new BpeTokenizer(tokens, special, bos, eos.toArray(), bpe, normalizer, pre, new AddedTokens(addedList), decoding, strip,
                prefix.toArray(), suffix.toArray());
    }

    private static boolean mentions(JsonNode n, String type) {
        if (n == null || n.isMissingNode() || n.isNull()) return false;
        if (type.equals(n.path("type").asText())) return true;
        for (JsonNode c : n) if (c.isContainerNode() && mentions(c, type)) return true;
        return false;
    }

    private static int stripStart(JsonNode dec) {
        String t = dec.path("type").asText("");
        if (t.equals("Strip") && " ".equals(dec.path("content").asText())) return dec.path("start").asInt();
        if (t.equals("Sequence")) {
            int s = 0;
            for (JsonNode d : dec.path("decoders")) s += stripStart(d);
            return s;
        }
        return 0;
    }

    private static boolean metaspaceStrips(JsonNode dec) {
        return dec.path("type").asText().equals("Metaspace")
                && !"never".equals(dec.path("prepend_scheme").asText(dec.path("add_prefix_space").asBoolean(true) ? "always" : "never"));
    }

    private void template(JsonNode pp, IntList prefix, IntList suffix) {
        String t = pp.path("type").asText("");
        switch (t) {
            case "Sequence" -> { for (JsonNode p : pp.path("processors")) template(p, prefix, suffix); }
            case "TemplateProcessing" -> {
                boolean seenA = false;
                for (JsonNode item : pp.path("single")) {
                    if (item.has("Sequence")) {
                        seenA = true;
                    } else if (item.has("SpecialToken")) {
                        String id = item.path("SpecialToken").path("id").asText();
                        JsonNode st = pp.path("special_tokens").path(id).path("ids");
                        if (!st.isArray()) throw bad("post_processor special token " + id + " has no ids");
                        for (JsonNode x : st) (seenA ? suffix : prefix).add(x.asInt());
                    }
                }
            }
            case "ByteLevel", "" -> { }
            default -> throw bad("post_processor " + t + " is not supported");
        }
    }

    private UnaryOperator<String> normalizer(JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) return null;
        String t = n.path("type").asText();
        return switch (t) {
            case "Sequence" -> {
                List<UnaryOperator<String>> steps = new ArrayList<>();
                for (JsonNode c : n.path("normalizers")) steps.add(normalizer(c));
                yield s -> {
                    for (UnaryOperator<String> f : steps) if (f != null) s = f.apply(s);
                    return s;
                };
            }
            case "NFC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFC);
            case "NFD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFD);
            case "NFKC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKC);
            case "NFKD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKD);
            case "Lowercase" -> String::toLowerCase;
            case "Prepend" -> {
                String p = n.path("prepend").asText();
                yield s -> s.isEmpty() ? s : p + s;
            }
            case "Replace" -> {
                String content = n.path("content").asText();
                JsonNode pat = n.path("pattern");
                if (pat.has("String")) {
                    String from = pat.path("String").asText();
                    yield s -> s.replace(from, content);
                }
                Pattern p = PreTokenizer.compile(pat.path("Regex").asText());
                String repl = java.util.regex.Matcher.quoteReplacement(content);
                yield s -> p.matcher(s).replaceAll(repl);
            }
            case "Strip" -> {
                boolean left = n.path("strip_left").asBoolean(), right = n.path("strip_right").asBoolean();
                yield s -> left && right ? s.strip() : left ? s.stripLeading() : right ? s.stripTrailing() : s;
            }
            default -> throw bad("normalizer " + t + " is not supported");
        };
    }

    private PreTokenizer preTokenizer(JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) return null;
        String t = n.path("type").asText();
        return switch (t) {
            case "Sequence" -> {
                List<PreTokenizer> steps = new ArrayList<>();
                for (JsonNode c : n.path("pretokenizers")) steps.add(preTokenizer(c));
                yield PreTokenizer.sequence(steps);
            }
            case "ByteLevel" -> PreTokenizer.byteLevel(n.path("add_prefix_space").asBoolean(), n.path("use_regex").asBoolean(true));
            case "Digits" -> PreTokenizer.regex(n.path("individual_digits").asBoolean() ? "\\p{N}" : "\\p{N}+", PreTokenizer.Behavior.ISOLATED, false);
            case "Split" -> {
                JsonNode pat = n.path("pattern");
                String regex = pat.has("String") ? Pattern.quote(pat.path("String").asText()) : pat.path("Regex").asText();
                PreTokenizer.Behavior b = switch (n.path("behavior").asText("Isolated")) {
                    case "Isolated" -> PreTokenizer.Behavior.ISOLATED;
                    case "Removed" -> PreTokenizer.Behavior.REMOVED;
                    case "MergedWithPrevious" -> PreTokenizer.Behavior.MERGED_WITH_PREVIOUS;
                    case "MergedWithNext" -> PreTokenizer.Behavior.MERGED_WITH_NEXT;
                    case "Contiguous" -> PreTokenizer.Behavior.CONTIGUOUS;
                    default -> throw bad("Split behavior " + n.path("behavior").asText() + " is not supported");
                };
                yield PreTokenizer.regex(regex, b, n.path("invert").asBoolean());
            }
            case "Metaspace" -> PreTokenizer.metaspace(n.path("replacement").asText("▁"), n.path("prepend_scheme").asText(
                    n.path("add_prefix_space").asBoolean(true) ? "always" : "never"), n.path("split").asBoolean(true));
            case "Whitespace" -> PreTokenizer.regex("\\w+|[^\\w\\s]+", PreTokenizer.Behavior.REMOVED, true);
            case "WhitespaceSplit" -> PreTokenizer.regex("\\s+", PreTokenizer.Behavior.REMOVED, false);
            default -> throw bad("pre_tokenizer " + t + " is not supported");
        };
    }
}
