package org.flexidepth4j.api;

/** Receives tokens as they are generated, on the generating thread. */
@FunctionalInterface
public interface TokenListener {
    TokenListener NONE = token -> {
    };

    void onToken(Token token);
}
