package org.flexidepth4j.io;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Map;

/**
 * Whether standard output or error is a terminal (libc isatty through FFM), so colours and progress bars go only to
 * a terminal and a log redirected to a file stays plain text; colours also honour NO_COLOR (no-color.org).
 */
public final class Terminal {
    public static final int STDOUT = 1;
    public static final int STDERR = 2;
    private static final MethodHandle ISATTY = isatty();

    private Terminal() {
    }

    private static MethodHandle isatty() {
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("isatty")
                    .map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT)))
                    .orElse(null);
        } catch (RuntimeException e) {
            return null; // no libc (or native access refused): treat nothing as a terminal
        }
    }

    /** Whether file descriptor {@code fd} (1 = stdout, 2 = stderr) is a terminal. */
    public static boolean isTerminal(int fd) {
        if (ISATTY == null) return false;
        try {
            return (int) ISATTY.invokeExact(fd) == 1;
        } catch (Throwable t) {
            return false;
        }
    }

    /** Whether ANSI colours may go to {@code fd}: a terminal, NO_COLOR unset or empty, TERM not "dumb". */
    public static boolean colours(int fd) {
        return colours(isTerminal(fd), System.getenv());
    }

    public static boolean colours(boolean terminal, Map<String, String> env) {
        String noColor = env.get("NO_COLOR");
        return terminal && (noColor == null || noColor.isEmpty()) && !"dumb".equals(env.get("TERM"));
    }
}
