package org.flexidepth4j.skip;

/**
 * A reproducible uniform number per (seed, layer, position): the same token gets the same draw whether the
 * sequence is run in one batch or token by token.
 */
final class TokenDraw {
    private TokenDraw() {
    }

    static double uniform(long seed, int layer, int position) {
        long z = seed + 0x9E3779B97F4A7C15L * (((long) layer << 32) + position + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (z >>> 11) * 0x1.0p-53;
    }
}
