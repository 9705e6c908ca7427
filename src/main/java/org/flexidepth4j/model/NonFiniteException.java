package org.flexidepth4j.model;

/**
 * A NaN or infinity arose in the activations (logits, router gates): the run stops rather than write it out or show
 * it as a number. {@link Transformer#forward} names the model in the message.
 */
public final class NonFiniteException extends IllegalStateException {
    public NonFiniteException(String message) {
        super(message);
    }

    /** The same problem, prefixed by the model it arose in (once). */
    NonFiniteException in(String model) {
        return getMessage().startsWith(model + ": ") ? this : new NonFiniteException(model + ": " + getMessage());
    }

    /** Throws when x[off .. off+n) holds a NaN or infinity; {@code what} says which values they are. */
    public static void check(float[] x, int off, int n, String what) {
        int i = org.flexidepth4j.tensor.VectorOps.firstNonFinite(x, off, n);
        if (i >= 0) {
            throw new NonFiniteException("non-finite value " + x[off + i] + " in " + what + " (index " + i
                    + "): the weights or the config of this model produce NaN or infinity");
        }
    }
}
