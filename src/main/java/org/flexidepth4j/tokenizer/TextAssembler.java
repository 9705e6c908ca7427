package org.flexidepth4j.tokenizer;

import java.util.List;

/**
 * Turns generated ids into text as it streams: releases only complete UTF-8 characters, and holds back just enough
 * to never release part of a stop string.
 */
public final class TextAssembler {
    private final Tokenizer.StreamDecoder decoder;
    private final List<String> stops;
    private final StringBuilder text = new StringBuilder();
    private int released;
    private int releasable;
    private boolean stopped;
    private boolean finished;

    /** @param tokenizer null renders the ids themselves, space-separated (a model without a tokenizer) */
    public TextAssembler(Tokenizer tokenizer, List<String> stops) {
        this.decoder = tokenizer != null ? tokenizer.streamDecoder() : null;
        this.stops = List.copyOf(stops);
    }

    /** Takes one generated token; false once a stop string has appeared (the text then ends right before it). */
    public boolean accept(int id) {
        if (stopped || finished) throw new IllegalStateException("the text is complete");
        text.append(decoder != null ? decoder.next(id) : (text.isEmpty() ? "" : " ") + id);
        int stopAt = firstStop();
        if (stopAt >= 0) {
            text.setLength(stopAt);
            releasable = stopAt;
            stopped = true;
            return false;
        }
        releasable = text.length() - heldBack();
        return true;
    }

    /** Ends the text: what was held back becomes releasable (a partial character as a replacement character). */
    public void finish() {
        if (stopped || finished) return;
        finished = true;
        if (decoder != null) text.append(decoder.flush());
        releasable = text.length();
    }

    /** The text that became final since the last call (possibly empty). */
    public String release() {
        String s = text.substring(released, Math.max(released, releasable));
        released = Math.max(released, releasable);
        return s;
    }

    /** The text so far, ending right before the stop string if one appeared. */
    public String text() {
        return text.toString();
    }

    /** Whether a stop string appeared. */
    public boolean stopped() {
        return stopped;
    }

    private int firstStop() {
        int best = -1;
        for (String s : stops) {
            if (s.isEmpty()) continue;
            int i = text.indexOf(s, Math.max(0, released - s.length()));
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
}
