package org.flexidepth4j.tokenizer.template;

/**
 * Bounds on one rendering, since templates are untrusted input: characters written (counting the text macros and
 * blocks produce before it is printed), loop iterations over all loops, and depth of nested macro calls.
 */
public record Limits(long maxCharsWritten, long maxLoopIterations, int maxCallDepth) {
    /** Far beyond any real chat prompt (a 128k-token context is about 0.5 M characters), and reached in well under a second. */
    public static final Limits DEFAULT = new Limits(8_000_000, 1_000_000, 100);

    public Limits {
        if (maxCharsWritten < 1 || maxLoopIterations < 1 || maxCallDepth < 1) throw new IllegalArgumentException("limits must be positive");
    }
}
