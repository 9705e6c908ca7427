package org.flexidepth4j.load;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The load-time NaN/infinity scan over the weight matrices of the Llama-3.2-1B shape (the same matrices
 * {@code bench --synthetic llama-1b} builds: 16 layers of 2048 x 2048 q/o, 512 x 2048 k/v, 2048 x 8192 x 3 FFN and
 * the 128256 x 2048 embedding, 1.236 G values), held in one resident buffer of the stored dtype. Run after
 * {@code ./mvnw -q -o test-compile} with {@code java --add-modules jdk.incubator.vector -cp
 * target/classes:target/test-classes:<jmh-core, jopt-simple, commons-math3 jars> org.openjdk.jmh.Main WeightCheckBench}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx1g"})
public class WeightCheckBench {
    /** Values in the 1B shape's weight matrices (embedding included: it is scanned too). */
    static final long VALUES_1B = 16L * (2 * 2048 * 2048 + 2 * 512 * 2048 + 3 * 2048 * 8192) + 128256L * 2048;

    @Param({"BF16", "F32", "Q8_0", "Q4_K"})
    public String dtype;

    private Arena arena;
    private MemorySegment weights;

    @Setup
    public void allocate() {
        arena = Arena.ofShared();
        long bytes = switch (dtype) {
            case "BF16" -> 2 * VALUES_1B;
            case "F32" -> 4 * VALUES_1B;
            case "Q8_0" -> VALUES_1B / 32 * 34;
            case "Q4_K" -> VALUES_1B / 256 * 144;
            default -> throw new IllegalArgumentException(dtype);
        };
        weights = arena.allocate(bytes, 64); // zero-filled: every value finite, so the scan reads everything
    }

    @TearDown
    public void free() {
        arena.close();
    }

    @Benchmark
    public long scan() {
        return switch (dtype) {
            case "BF16" -> WeightCheck.firstNonFinite16(weights, (short) 0x7F80);
            case "F32" -> WeightCheck.firstNonFiniteF32(weights);
            case "Q8_0" -> WeightCheck.firstNonFiniteBlock(weights, 34, new int[] {0});
            case "Q4_K" -> WeightCheck.firstNonFiniteBlock(weights, 144, new int[] {0, 2});
            default -> throw new IllegalArgumentException(dtype);
        };
    }
}
