package org.flexidepth4j.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.tensor.Kernels;
import org.flexidepth4j.tensor.Parallel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The {@code flexidepth} command. Errors in the input (bad files, bad values) print one line
 * {@code flexidepth: <message>} to stderr and exit 1; usage errors exit 2; stack traces only with --verbose.
 */
@Command(name = "flexidepth", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Adaptive-depth (FlexiDepth) LLM inference and training in pure Java.")
public final class Main implements Runnable {
    /** The subcommands, in the order --help lists them: adding a command is one line here. */
    static final List<Class<?>> COMMANDS = List.of(
            GenerateCommand.class,
            ChatCommand.class,
            ChatTemplateCommand.class,
            LogitsCommand.class,
            TokenizeCommand.class,
            PerplexityCommand.class,
            EvalCommand.class,
            TraceCommand.class,
            FrontierCommand.class,
            MergeCommand.class,
            InfoCommand.class,
            TrainCommand.class,
            BenchCommand.class,
            ServeCommand.class,
            PretrainCommand.class);

    public static final int EXIT_BAD_INPUT = 1;
    public static final int EXIT_USAGE = 2;

    private boolean verbose;

    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "print stack traces of errors")
    void verbose(boolean on) {
        verbose = on;
    }

    @Option(names = "--threads", paramLabel = "N", scope = ScopeType.INHERIT, description = "worker threads, 1.." + Parallel.MAX_THREADS + " (default: all processors)")
    void threads(int n) {
        Parallel.setThreads(n);
    }

    @Option(names = "--kernels", paramLabel = "TIER", scope = ScopeType.INHERIT,
            description = "java, native or auto: which kernels multiply Q8_0/Q4_0/Q4_K/Q6_K weights by 8-bit activations (auto: native when this build carries the C library for this machine)")
    void kernels(String tier) {
        Kernels.Choice choice = switch (tier.toLowerCase(java.util.Locale.ROOT)) {
            case "java" -> Kernels.Choice.JAVA;
            case "native" -> Kernels.Choice.NATIVE;
            case "auto" -> Kernels.Choice.AUTO;
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--kernels must be java, native or auto, got '" + tier + "'");
        };
        try {
            Kernels.choose(choice);
        } catch (IllegalStateException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--kernels native: " + e.getMessage());
        }
    }

    @Option(names = "--activations", paramLabel = "MODE", scope = ScopeType.INHERIT,
            description = "q8 (default: matmuls quantize activations to 8-bit blocks for Q8_0/Q4_0/Q4_K/Q6_K weights, as llama.cpp: decode on either tier, prefill on the native one) or f32 (float activations)")
    void activations(String mode) {
        Kernels.setActivations(switch (mode.toLowerCase(java.util.Locale.ROOT)) {
            case "q8" -> Kernels.Activations.Q8;
            case "f32" -> Kernels.Activations.F32;
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--activations must be q8 or f32, got '" + mode + "'");
        });
    }

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8));
        PrintWriter err = new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.err), StandardCharsets.UTF_8), true);
        int code = execute(out, err, args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs one command line with the given streams and returns its exit code (used in-process by tests). */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        Main main = new Main();
        // each command line starts from the defaults, as a new process would (tests run many in one JVM)
        Kernels.choose(Kernels.Choice.AUTO);
        Kernels.setActivations(Kernels.Activations.Q8);
        CommandLine cl = new CommandLine(main);
        for (Class<?> c : COMMANDS) cl.addSubcommand(c);
        cl.setOut(out).setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine sub = ex.getCommandLine();
            err.println("flexidepth: " + oneLine(ex.getMessage()).replaceFirst("^Error: ", "") + " (see '" + sub.getCommandSpec().qualifiedName() + " --help')");
            if (main.verbose) ex.printStackTrace(err);
            return EXIT_USAGE;
        });
        cl.setExecutionExceptionHandler((ex, sub, parsed) -> {
            boolean badInput = ex instanceof FormatException || ex instanceof IllegalArgumentException
                    || ex instanceof UncheckedIOException || ex instanceof IOException || ex instanceof IllegalStateException;
            String message = ex.getMessage() == null ? ex.getClass().getName() : ex.getMessage();
            String hint = badInput || main.verbose ? "" : " (run with --verbose for the stack trace)";
            err.println("flexidepth: " + (badInput ? "" : "internal error: " + ex.getClass().getSimpleName() + ": ") + oneLine(message) + hint);
            if (main.verbose) ex.printStackTrace(err);
            return EXIT_BAD_INPUT;
        });
        int code;
        try {
            code = cl.execute(args);
        } catch (VirtualMachineError e) { // out of memory or stack: picocli passes Errors through
            err.println("flexidepth: " + describe(e));
            if (main.verbose) e.printStackTrace(err);
            code = EXIT_BAD_INPUT;
        }
        out.flush();
        err.flush();
        return code;
    }

    /** One line for an Error: what ran out, where in our code, and what to try. */
    static String describe(VirtualMachineError e) {
        String where = "";
        for (StackTraceElement f : e.getStackTrace()) {
            if (f.getClassName().startsWith("org.flexidepth4j.") && !f.getClassName().startsWith("org.flexidepth4j.tensor.Parallel")) {
                where = " in " + f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1) + "." + f.getMethodName()
                        + (f.getLineNumber() > 0 ? " (" + f.getFileName() + ":" + f.getLineNumber() + ")" : "");
                break;
            }
        }
        if (e instanceof OutOfMemoryError) {
            return "out of memory (" + oneLine(e.getMessage()) + ", heap limit " + (Runtime.getRuntime().maxMemory() >> 20) + " MiB) allocating" + where
                    + "; try a smaller --context, --quantize q8_0 or q4_0, fewer --threads, or a larger heap (FLEXIDEPTH_JAVA_OPTS=-Xmx16g)";
        }
        if (e instanceof StackOverflowError) {
            return "stack overflow" + where + ": the input nests too deeply; simplify it, or raise the stack size (FLEXIDEPTH_JAVA_OPTS=-Xss16m)";
        }
        return "internal error: " + e.getClass().getSimpleName() + where + ": " + oneLine(e.getMessage());
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"flexidepth4j " + (v != null ? v : "0.1.0-SNAPSHOT"), "Java " + Runtime.version()};
        }
    }
}
