package org.flexidepth4j.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.flexidepth4j.tensor.ColumnPanels;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Matrices;
import org.flexidepth4j.tensor.Matrix;
import org.flexidepth4j.tensor.Parallel;
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
 * Matrix-vector (tokens = 1, decode) and 64-token matmul (prefill) per stored dtype. Run after
 * {@code ./mvnw -q -o test-compile} with {@code java --add-modules jdk.incubator.vector -cp
 * target/classes:target/test-classes:<jmh-core, jopt-simple, commons-math3 jars> org.openjdk.jmh.Main MatmulBench
 * -p dtype=Q8_0 -p tokens=1} (exact command with jar paths: docs/notes/kern.md).
 * Divide the weight bytes (rows x cols x bytes per value) by the time for decode GB/s; 2 x rows x cols x tokens by
 * the time for GFLOP/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class MatmulBench {
    @Param({"F32", "BF16", "F16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    public String dtype;

    @Param({"2048x2048", "8192x2048", "2048x8192"})
    public String shape;

    @Param({"1", "64"})
    public int tokens;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private Matrix matrix;
    private float[] x;
    private float[] out;

    @Setup
    public void setup() {
        Parallel.setThreads(threads);
        String[] rc = shape.split("x");
        int rows = Integer.parseInt(rc[0]), cols = Integer.parseInt(rc[1]);
        arena = Arena.ofShared();
        // the layout ModelLoader gives a matrix of this width (column panels beyond 4096 columns)
        matrix = ColumnPanels.of(randomMatrix(DType.valueOf(dtype), rows, cols, arena, new Random(1)));
        x = new float[tokens * cols];
        Random r = new Random(2);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        out = new float[tokens * rows];
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float[] matmul() {
        matrix.matmul(x, out, tokens);
        return out;
    }

    /** Random stored bytes with every scale and exponent field set to a sane value (no NaN, inf or denormals). */
    static Matrix randomMatrix(DType dtype, int rows, int cols, Arena arena, Random random) {
        long bytes = dtype.byteSize((long) rows * cols);
        MemorySegment data = arena.allocate(bytes, 64);
        byte[] chunk = new byte[1 << 16];
        for (long o = 0; o < bytes; o += chunk.length) {
            random.nextBytes(chunk);
            MemorySegment.copy(chunk, 0, data, ValueLayout.JAVA_BYTE, o, (int) Math.min(chunk.length, bytes - o));
        }
        ValueLayout.OfShort s = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        short half = Float.floatToFloat16(0.01f);
        long elements = (long) rows * cols;
        switch (dtype) {
            case F32 -> { for (long i = 0; i < elements; i++) data.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * i, (float) random.nextGaussian()); }
            case BF16 -> { for (long i = 0; i < elements; i++) data.set(s, 2 * i, (short) (Float.floatToRawIntBits((float) random.nextGaussian()) >>> 16)); }
            case F16 -> { for (long i = 0; i < elements; i++) data.set(s, 2 * i, Float.floatToFloat16((float) random.nextGaussian())); }
            default -> {
                long blocks = elements / dtype.blockSize;
                int[] scaleOffsets = switch (dtype) {
                    case Q4_K -> new int[] {0, 2};
                    case Q6_K -> new int[] {208};
                    default -> new int[] {0};
                };
                for (long b = 0; b < blocks; b++) for (int so : scaleOffsets) data.set(s, b * dtype.blockBytes + so, half);
            }
        }
        return Matrices.of(dtype, data, rows, cols);
    }

    public static void main(String[] args) throws Exception {
        org.openjdk.jmh.Main.main(args.length > 0 ? args : new String[] {MatmulBench.class.getSimpleName()});
    }
}
