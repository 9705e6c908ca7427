package org.flexidepth4j.api;

/** Why generation ended. */
public enum StopReason {
    /** the model produced an end-of-sequence token */
    EOS,
    /** the text reached a stop string */
    STOP,
    /** the token budget or the context was used up */
    LENGTH,
    /** {@link Generation#cancel()} was called */
    CANCELLED
}
