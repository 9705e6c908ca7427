package org.flexidepth4j.cli;

/** ANSI 256-colour scale for --show-layers: cool (few layers used) to hot (every layer). */
final class LayerColors {
    static final String RESET = "\u001b[0m";
    /** Backgrounds from blue through green and yellow to red. */
    private static final int[] BACKGROUND = {21, 27, 33, 39, 45, 49, 48, 118, 190, 220, 208, 202, 196};

    private LayerColors() {
    }

    static String start(int used, int layers) {
        int c = BACKGROUND[bucket(used, layers)];
        int fg = c <= 33 ? 231 : 16; // white text on the dark blues, black elsewhere
        return "\u001b[48;5;" + c + "m\u001b[38;5;" + fg + "m";
    }

    private static int bucket(int used, int layers) {
        double f = layers == 0 ? 1 : Math.clamp((double) used / layers, 0, 1);
        return (int) Math.round(f * (BACKGROUND.length - 1));
    }

    /** One line: the scale labelled with layer counts, then the mean. */
    static String legend(int layers, double meanUsed) {
        StringBuilder b = new StringBuilder("layers used:");
        int step = Math.max(1, (layers + 11) / 12);
        for (int k = 0; k <= layers; k += step) b.append(' ').append(start(k, layers)).append(' ').append(k).append(' ').append(RESET);
        if (layers % step != 0) b.append(' ').append(start(layers, layers)).append(' ').append(layers).append(' ').append(RESET);
        return b.append(String.format("  mean %.2f of %d (%.1f%%)", meanUsed, layers, 100 * meanUsed / Math.max(1, layers))).toString();
    }
}
