package org.flexidepth4j.tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * Generated tokens to text as they come, holding back just enough to never emit part of a stop string or a broken
 * UTF-8 character; each character remembers the layers its token used. Without a tokenizer, ids are written as
 * numbers.
 */
public final class TextStream {
    /** Receives text[from, to) as soon as it is final. */
    public interface Sink {
        void emit(TextStream stream, int from, int to);
    }

    private final Tokenizer.StreamDecoder decoder;
    private final List<String> stops;
    private final Sink sink;
    private final StringBuilder text = new StringBuilder();
    private int[] charLayers = new int[256];
    private int emitted;
    private int end = -1;
    private int lastLayersUsed;

    public TextStream(Tokenizer tokenizer, List<String> stops, Sink sink) {
        this.decoder = tokenizer != null ? tokenizer.streamDecoder() : null;
        this.stops = stops;
        this.sink = sink;
    }

    /** Takes one generated token; false once a stop string has appeared (the text then ends before it). */
    public boolean accept(int id, int layersUsed) {
        lastLayersUsed = layersUsed;
        append(decoder != null ? decoder.next(id) : (text.isEmpty() ? "" : " ") + id, layersUsed);
        int stopAt = firstStop();
        if (stopAt >= 0) {
            end = stopAt;
            emit(stopAt);
            return false;
        }
        emit(text.length() - heldBack());
        return true;
    }

    /** Emits what was held back (unless a stop string ended the text). */
    public void finish() {
        if (end < 0) {
            if (decoder != null) append(decoder.flush(), lastLayersUsed);
            end = text.length();
            emit(end);
        }
    }

    /** Whether a stop string ended the text. */
    public boolean stopped() {
        return end >= 0 && end < text.length();
    }

    public String text() {
        return text.substring(0, end < 0 ? text.length() : end);
    }

    /** Characters decoded so far, the held-back ones included. */
    public CharSequence chars() {
        return text;
    }

    /** Layers used by the token that produced character {@code index}. */
    public int layersAt(int index) {
        return charLayers[index];
    }

    private void append(String piece, int layersUsed) {
        if (piece.isEmpty()) return;
        int from = text.length();
        text.append(piece);
        if (charLayers.length < text.length()) charLayers = Arrays.copyOf(charLayers, Math.max(text.length(), 2 * charLayers.length));
        Arrays.fill(charLayers, from, text.length(), layersUsed);
    }

    private int firstStop() {
        int best = -1;
        for (String s : stops) {
            if (s.isEmpty()) continue;
            int i = text.indexOf(s, Math.max(0, emitted - s.length()));
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }

    /** Length of the longest tail of the text that could still grow into a stop string. */
    private int heldBack() {
        int hold = 0;
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, text.length()); k > hold; k--) {
                if (CharSequence.compare(text.subSequence(text.length() - k, text.length()), s.substring(0, k)) == 0) {
                    hold = k;
                    break;
                }
            }
        }
        return hold;
    }

    private void emit(int upTo) {
        if (upTo <= emitted) return;
        sink.emit(this, emitted, upTo);
        emitted = upTo;
    }
}
