package org.flexidepth4j.io;

import java.nio.file.Path;

/** A file that cannot be used as given: its message is one line naming the file and the problem. */
public class FormatException extends RuntimeException {
    /** Problems quote names from the file: a hostile one must not flood the terminal. */
    private static final int MAX_PROBLEM_CHARS = 1000;

    public FormatException(Path file, String problem) {
        super(file + ": " + oneLine(problem));
    }

    public FormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + oneLine(problem), cause);
    }

    /** Control characters (a newline in a key name) escaped, and the text cut to a readable length. */
    static String oneLine(String problem) {
        StringBuilder sb = new StringBuilder(Math.min(problem.length(), MAX_PROBLEM_CHARS + 16));
        int i = 0;
        for (; i < problem.length() && sb.length() < MAX_PROBLEM_CHARS; i++) {
            char c = problem.charAt(i);
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029' || c == '\u0085') sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        if (i < problem.length()) sb.append("...");
        return sb.toString();
    }
}
