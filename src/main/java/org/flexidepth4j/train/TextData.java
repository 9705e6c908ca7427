package org.flexidepth4j.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.tokenizer.ChatTemplate;
import org.flexidepth4j.tokenizer.Tokenizer;

/**
 * Training data: plain-text files are split into documents at blank lines; {@code .jsonl} files hold one chat per
 * line ({"messages": [{"role", "content"}...]}), each a document rendered by a {@link ChatFormat} (loss on all
 * tokens, as the official recipe). Each document is tokenized and preceded by the EOS token (so documents are
 * separated by EOS, as tinylm-12l was pretrained), and the stream is cut into non-overlapping sequences of
 * {@code seqLen} tokens (the incomplete tail is dropped). Empty files are skipped and counted; a data set yielding
 * no full sequence is an error.
 */
public final class TextData {
    private final int[] tokens;
    private final int seqLen;
    private final int sequences;
    private final int skippedFiles;

    private TextData(int[] tokens, int seqLen, int skippedFiles) {
        this.tokens = tokens;
        this.seqLen = seqLen;
        this.sequences = tokens.length / seqLen;
        this.skippedFiles = skippedFiles;
    }

    public static TextData load(List<Path> files, Tokenizer tokenizer, int seqLen, int vocabSize) {
        return load(files, tokenizer, seqLen, vocabSize, null);
    }

    /** {@code chat} renders the conversations of .jsonl files (null: made from the tokenizer's chat template). */
    public static TextData load(List<Path> files, Tokenizer tokenizer, int seqLen, int vocabSize, ChatFormat chat) {
        int[] eos = tokenizer.eosIds();
        if (eos == null || eos.length == 0) throw new IllegalArgumentException("the tokenizer has no EOS token to separate documents");
        IntList stream = new IntList();
        int skipped = 0;
        for (Path f : files) {
            String text = read(f);
            if (text.isBlank()) {
                skipped++;
                continue;
            }
            boolean jsonl = f.getFileName().toString().endsWith(".jsonl");
            if (jsonl && chat == null) chat = ChatFormat.of(tokenizer);
            List<String> docs = jsonl ? conversations(f, text, chat) : List.of(text.split("\\R\\s*\\R"));
            for (String doc : docs) {
                String trimmed = jsonl ? doc : doc.strip();
                if (trimmed.isEmpty()) continue;
                stream.add(eos[0]);
                for (int id : tokenizer.encode(trimmed)) {
                    if (id < 0 || id >= vocabSize) throw new FormatException(f, "token id " + id + " is outside the model's vocabulary of " + vocabSize + " (wrong tokenizer?)");
                    stream.add(id);
                }
            }
        }
        TextData data = new TextData(stream.toArray(), seqLen, skipped);
        if (data.sequences == 0) {
            throw new IllegalArgumentException("data " + files + " holds " + stream.size + " tokens, fewer than one sequence of " + seqLen);
        }
        return data;
    }

    private static List<String> conversations(Path f, String text, ChatFormat chat) {
        List<String> out = new ArrayList<>();
        String[] lines = text.split("\\R");
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].isBlank()) continue;
            JsonNode messages;
            try {
                messages = Json.MAPPER.readTree(lines[i]).path("messages");
            } catch (JsonProcessingException e) {
                throw new FormatException(f, "line " + (i + 1) + ": bad JSON: " + e.getOriginalMessage());
            }
            if (!messages.isArray() || messages.isEmpty()) throw new FormatException(f, "line " + (i + 1) + ": no \"messages\" array");
            List<ChatTemplate.Message> chatMessages = new ArrayList<>();
            for (JsonNode m : messages) {
                if (!m.path("role").isTextual() || !m.path("content").isTextual()) throw new FormatException(f, "line " + (i + 1) + ": a message needs string \"role\" and \"content\"");
                chatMessages.add(new ChatTemplate.Message(m.get("role").asText(), m.get("content").asText()));
            }
            out.add(chat.render(chatMessages));
        }
        return out;
    }

    private static String read(Path f) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(f))).toString();
        } catch (CharacterCodingException e) {
            throw new FormatException(f, "not valid UTF-8 text");
        } catch (IOException e) {
            throw new FormatException(f, "cannot read: " + e.getMessage());
        }
    }

    /** Splits off the last {@code count} sequences as a held-out set (this keeps the rest). */
    public TextData[] split(int count) {
        if (count <= 0 || count >= sequences) throw new IllegalArgumentException("cannot hold out " + count + " of " + sequences + " sequences");
        int cut = (sequences - count) * seqLen;
        return new TextData[] {
                new TextData(java.util.Arrays.copyOf(tokens, cut), seqLen, skippedFiles),
                new TextData(java.util.Arrays.copyOfRange(tokens, cut, sequences * seqLen), seqLen, 0)};
    }

    public int sequences() {
        return sequences;
    }

    public int seqLen() {
        return seqLen;
    }

    public int skippedFiles() {
        return skippedFiles;
    }

    /** Copies sequence {@code index} into dst. */
    public void sequence(int index, int[] dst) {
        System.arraycopy(tokens, index * seqLen, dst, 0, seqLen);
    }

    /** The order of sequences in {@code epoch}: a seeded shuffle, so a resumed run replays it exactly. */
    public int[] order(long seed, int epoch) {
        int[] order = new int[sequences];
        for (int i = 0; i < sequences; i++) order[i] = i;
        SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + epoch);
        for (int i = sequences - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        return order;
    }

    private static final class IntList {
        int[] data = new int[1 << 16];
        int size;

        void add(int v) {
            if (size == data.length) data = java.util.Arrays.copyOf(data, size * 2);
            data[size++] = v;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(data, size);
        }
    }
}
