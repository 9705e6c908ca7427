package org.flexidepth4j.api;

/**
 * One streamed token.
 *
 * @param id         the token id, or {@link #END} for the call after the last token that releases text still held back
 * @param text       the text that became final with this token: possibly empty (part of a UTF-8 character, or text
 *                   that might begin a stop string); all the texts together are the result's text
 * @param layersUsed layers the forward pass that produced this token ran (of {@code numLayers})
 */
public record Token(int id, String text, int layersUsed) {
    /** The id of the closing call that carries held-back text, not a token. */
    public static final int END = -1;
}
