package org.flexidepth4j.tensor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Which kernels multiply Q8_0, Q4_0, Q4_K and Q6_K weights in decode: float activations (the Java {@link Matrix#dot} of each
 * dtype), or activations quantized once per matmul to 8-bit blocks ({@link Q8Activations}, as llama.cpp does) and
 * multiplied as integers, by the pure-Java Vector API kernels or by the native tier: C kernels built from
 * {@code src/main/c} with the system's C compiler into a library the jar carries, called through FFM downcalls.
 * The tier also picks BF16's kernels (float activations either way). The Java kernels compute the same sums and are
 * the reference. Process-wide settings, like {@link Parallel}'s size.
 */
public final class Kernels {
    /** Which kernel tier to use for the integer dots. */
    public enum Choice { JAVA, NATIVE, AUTO }

    /** How decode feeds activations to Q8_0 / Q4_0 / Q4_K / Q6_K weights. */
    public enum Activations { Q8, F32 }

    /** Levels of the native library (its fd_best_level), by index. */
    private static final String[] LEVELS = {"portable C", "AVX2", "AVX-512 VNNI"};

    private static volatile boolean nativeTier;
    private static volatile Activations activations = Activations.Q8;

    private Kernels() {
    }

    /** Picks the tier: NATIVE fails with the reason when the library cannot be loaded, AUTO falls back to Java. */
    public static synchronized void choose(Choice choice) {
        switch (choice) {
            case JAVA -> nativeTier = false;
            case AUTO -> nativeTier = Native.LIBRARY != null;
            case NATIVE -> {
                if (Native.LIBRARY == null) throw new IllegalStateException("native kernels unavailable: " + Native.PROBLEM);
                nativeTier = true;
            }
        }
    }

    public static void setActivations(Activations a) {
        activations = a;
    }

    public static Activations activations() {
        return activations;
    }

    /** Whether the integer dots run in the native tier. */
    static boolean nativeTier() {
        return nativeTier;
    }

    /** Whether the native library loaded on this machine. */
    public static boolean nativeAvailable() {
        return Native.LIBRARY != null;
    }

    /**
     * One line saying which kernels run, e.g. "native AVX2, q8 activations", "java, f32 activations", or "native AVX2
     * for bf16, f32 activations" (the quantized types' float dots are Java; BF16 always takes float activations).
     */
    public static String describe() {
        String tier = nativeTier ? "native " + Native.levelName() : "java";
        if (activations == Activations.Q8) return tier + ", q8 activations";
        return nativeTier ? tier + " for bf16, f32 activations" : "java, f32 activations";
    }

    /** Why the native library did not load (null when it did). */
    public static String nativeProblem() {
        return Native.PROBLEM;
    }

    static { choose(Choice.AUTO); }

    /** The native library: loaded once, from the jar's resource for this platform. */
    static final class Native {
        static final String RESOURCE = "native/" + platform() + "/libflexidepth_kernels.so";
        static final SymbolLookup LIBRARY;
        static final String PROBLEM;
        static final int BEST_LEVEL;
        static final MethodHandle Q4_K_ROWS, Q6_K_ROWS, Q4_K_GEMM, Q6_K_GEMM;
        /**
         * Q4_0 and Q8_0 interleaved by 8 rows ({@link Int8BlockMatrix#interleaved}): the layout's packing and each type's one
         * kernel for any token count.
         */
        static final MethodHandle X8_PACK, Q4_0X8_TOKENS, Q8_0X8_TOKENS;
        /** fd_bf16_matmul: BF16 weights against float activations, for decode, batched decode and prefill alike. */
        static final MethodHandle BF16_MATMUL;

        static {
            SymbolLookup lib = null;
            String problem = null;
            int level = 0;
            MethodHandle q4k = null, q6k = null, q4kg = null, q6kg = null;
            MethodHandle x8Pack = null, q4x8Tokens = null, q8x8Tokens = null, bf16 = null;
            try {
                lib = SymbolLookup.libraryLookup(libraryPath(), Arena.global());
                Linker linker = Linker.nativeLinker();
                level = (int) linker.downcallHandle(lib.findOrThrow("fd_best_level"), FunctionDescriptor.of(ValueLayout.JAVA_INT)).invokeExact();
                FunctionDescriptor rows = FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_INT);
                // critical: no thread-state transition, and heap arrays (activations, outputs) are passed in place
                q4k = linker.downcallHandle(lib.findOrThrow("fd_q4_k_rows"), rows, Linker.Option.critical(true));
                q6k = linker.downcallHandle(lib.findOrThrow("fd_q6_k_rows"), rows, Linker.Option.critical(true));
                FunctionDescriptor gemm = FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT);
                q4kg = linker.downcallHandle(lib.findOrThrow("fd_q4_k_gemm"), gemm, Linker.Option.critical(true));
                q6kg = linker.downcallHandle(lib.findOrThrow("fd_q6_k_gemm"), gemm, Linker.Option.critical(true));
                x8Pack = linker.downcallHandle(lib.findOrThrow("fd_x8_pack"), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS), Linker.Option.critical(true));
                FunctionDescriptor x8Tokens = FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT);
                q4x8Tokens = linker.downcallHandle(lib.findOrThrow("fd_q4_0x8_tokens"), x8Tokens, Linker.Option.critical(true));
                q8x8Tokens = linker.downcallHandle(lib.findOrThrow("fd_q8_0x8_tokens"), x8Tokens, Linker.Option.critical(true));
                bf16 = linker.downcallHandle(lib.findOrThrow("fd_bf16_matmul"), FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT), Linker.Option.critical(true));
            } catch (Throwable e) {
                lib = null;
                problem = e.getMessage() == null ? e.toString() : e.getMessage();
            }
            LIBRARY = lib;
            PROBLEM = problem;
            BEST_LEVEL = level;
            Q4_K_ROWS = q4k;
            Q6_K_ROWS = q6k;
            Q4_K_GEMM = q4kg;
            Q6_K_GEMM = q6kg;
            X8_PACK = x8Pack;
            Q4_0X8_TOKENS = q4x8Tokens;
            Q8_0X8_TOKENS = q8x8Tokens;
            BF16_MATMUL = bf16;
        }

        /**
         * One BF16 call: out[outOffset + t * outStride + r] (+= when {@code add}) = row r of the {@code cols}-column bf16
         * matrix at {@code weights} times token t of x (at {@code xOffset + t * xStride}), rows [0, rows), tokens
         * [0, tokens); each sum bit for bit the one the same row and token get in any other call at that level.
         */
        static void bf16(int level, MemorySegment weights, int rows, int cols, float[] x, int xOffset, int xStride, int tokens,
                         float[] out, int outOffset, int outStride, boolean add) {
            try {
                BF16_MATMUL.invokeExact(level, weights, 2L * cols, rows, cols, MemorySegment.ofArray(x).asSlice(4L * xOffset), (long) xStride,
                        tokens, MemorySegment.ofArray(out).asSlice(4L * outOffset), (long) outStride, add ? 1 : 0);
            } catch (Throwable e) {
                throw new IllegalStateException("native kernel failed", e);
            }
        }

        static String levelName() {
            return BEST_LEVEL >= 0 && BEST_LEVEL < LEVELS.length ? LEVELS[BEST_LEVEL] : "level " + BEST_LEVEL;
        }

        /** e.g. Linux-amd64 (os.name-os.arch, as the build names the folder): where the jar holds this platform's library. */
        static String platform() {
            return System.getProperty("os.name") + "-" + System.getProperty("os.arch");
        }

        /** The library as a file: in place when the classes are a directory, else copied out of the jar once. */
        private static Path libraryPath() throws IOException, URISyntaxException {
            URL url = Kernels.class.getClassLoader().getResource(RESOURCE);
            if (url == null) throw new IOException("this build carries no native kernels for " + platform() + " (built without a C compiler?)");
            if (url.getProtocol().equals("file")) return Path.of(url.toURI());
            Path copy = Files.createTempFile("flexidepth_kernels", ".so");
            copy.toFile().deleteOnExit();
            try (InputStream in = url.openStream()) {
                Files.copy(in, copy, StandardCopyOption.REPLACE_EXISTING);
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
            return copy;
        }

        /** One native call: rows [0, rows) of the matrix at {@code weights} against token activations. */
        static void rows(MethodHandle kernel, int level, MemorySegment weights, long rowBytes, int rows, int blocks,
                         Q8Activations x, int firstBlock, float[] out, int outOffset, boolean add) {
            try {
                kernel.invokeExact(level, weights, rowBytes, rows, blocks,
                        MemorySegment.ofArray(x.quants).asSlice((long) firstBlock * Q8Activations.BLOCK),
                        MemorySegment.ofArray(x.scales).asSlice(4L * firstBlock),
                        MemorySegment.ofArray(x.sums).asSlice(4L * firstBlock),
                        MemorySegment.ofArray(out).asSlice(4L * outOffset), add ? 1 : 0);
            } catch (Throwable e) {
                throw new IllegalStateException("native kernel failed", e);
            }
        }

        /**
         * One native call of the prefill GEMM: rows [0, rows) against {@code tokens} tokens, token t's activations at block
         * {@code firstBlock + t * x.blocksPerToken}, its output row at {@code outOffset + t * outStride}.
         */
        static void tokens(MethodHandle kernel, int level, MemorySegment weights, long rowBytes, int rows, int blocks,
                           Q8Activations x, int firstBlock, int tokens, float[] out, int outOffset, int outStride, boolean add) {
            try {
                kernel.invokeExact(level, weights, rowBytes, rows, blocks,
                        MemorySegment.ofArray(x.quants).asSlice((long) firstBlock * Q8Activations.BLOCK),
                        MemorySegment.ofArray(x.scales).asSlice(4L * firstBlock),
                        MemorySegment.ofArray(x.sums).asSlice(4L * firstBlock), (long) x.blocksPerToken, tokens,
                        MemorySegment.ofArray(out).asSlice(4L * outOffset), (long) outStride, add ? 1 : 0);
            } catch (Throwable e) {
                throw new IllegalStateException("native kernel failed", e);
            }
        }

        /**
         * Groups [groupStart, groupEnd) of 8 rows of a matrix of blocks of an fp16 scale and {@code quantBytes} quant bytes
         * (Q4_0, Q8_0) into {@code interleaved} (see fd_x8_pack).
         */
        static void packX8(MemorySegment stored, long rowBytes, int rows, int blocks, int quantBytes, int groupStart, int groupEnd,
                           MemorySegment interleaved) {
            try {
                X8_PACK.invokeExact(stored, rowBytes, rows, blocks, quantBytes, groupStart, groupEnd, interleaved);
            } catch (Throwable e) {
                throw new IllegalStateException("native kernel failed", e);
            }
        }

        /**
         * Rows [rowStart, rowEnd) of an interleaved matrix against {@code tokens} tokens by its type's kernel (any count:
         * decode, batched decode and prefill run the one kernel), token t's activations at block {@code firstBlock + t *
         * x.blocksPerToken}, row r's output at {@code outOffset + t * outStride + r}.
         */
        static void x8(MethodHandle kernel, int level, MemorySegment interleaved, int rowStart, int rowEnd, int blocks, Q8Activations x,
                       int firstBlock, int tokens, float[] out, int outOffset, int outStride, boolean add) {
            try {
                kernel.invokeExact(level, interleaved, rowStart, rowEnd - rowStart, blocks,
                        MemorySegment.ofArray(x.quants).asSlice((long) firstBlock * Q8Activations.BLOCK),
                        MemorySegment.ofArray(x.scales).asSlice(4L * firstBlock),
                        MemorySegment.ofArray(x.quantSums).asSlice(4L * firstBlock), (long) x.blocksPerToken, tokens,
                        MemorySegment.ofArray(out).asSlice(4L * (outOffset + rowStart)), (long) outStride, add ? 1 : 0);
            } catch (Throwable e) {
                throw new IllegalStateException("native kernel failed", e);
            }
        }

        private Native() {
        }
    }
}
