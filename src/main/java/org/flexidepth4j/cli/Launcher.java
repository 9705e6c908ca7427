package org.flexidepth4j.cli;

/**
 * The jar's entry point: checks that the JVM was started with the Vector API module before any class that needs
 * it is loaded, so a plain {@code java -jar} gets one line saying what to add instead of a stack trace.
 */
public final class Launcher {
    static final String VECTOR_MODULE = "jdk.incubator.vector";

    private Launcher() {
    }

    public static void main(String[] args) {
        if (ModuleLayer.boot().findModule(VECTOR_MODULE).isEmpty()) {
            System.err.println("flexidepth: the Vector API module is missing: run java --add-modules " + VECTOR_MODULE
                    + " --enable-native-access=ALL-UNNAMED -jar flexidepth4j.jar ... (or use bin/flexidepth)");
            System.exit(Main.EXIT_USAGE);
        }
        Main.main(args);
    }
}
