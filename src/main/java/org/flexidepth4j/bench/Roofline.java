package org.flexidepth4j.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import com.fasterxml.jackson.annotation.JsonInclude;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.flexidepth4j.tensor.Parallel;

/**
 * The two ceilings a kernel can hit on this machine, measured with the same Vector API the kernels use: streaming
 * read bandwidth from DRAM (sum over a buffer far larger than the last-level cache) and peak FMA throughput
 * (independent accumulators, no memory traffic). Both use the shared {@link Parallel} pool at its current size.
 *
 * @param threads          pool size the numbers were measured with
 * @param readGBps         best-of-runs streaming read bandwidth, 1e9 bytes per second
 * @param fmaGflops        best-of-runs float32 FMA throughput, 1e9 floating-point operations (2 per FMA lane) per second
 * @param bufferBytes      size of the streamed buffer
 * @param readWithCompute  the same stream with FMAs interleaved (empty unless asked for, {@link #withCompute})
 */
public record Roofline(int threads, double readGBps, double fmaGflops, long bufferBytes,
                       @JsonInclude(JsonInclude.Include.NON_EMPTY) List<LoadedRead> readWithCompute) {
    /**
     * Streaming read bandwidth when every 128 bytes read also carry {@code fmaPer128Bytes} FMA instructions that do
     * not depend on the data. Why: it separates the machine from the kernels. Where a core overlaps its memory stalls
     * with work, this stays at {@link #readGBps} until the FMAs alone take longer than the reads; where it does not
     * (the Intel VM, docs/PERFORMANCE.md), it falls with every FMA added, and no kernel with that much arithmetic per
     * byte can reach the plain bound.
     */
    public record LoadedRead(int fmaPer128Bytes, double readGBps) {
    }

    /**
     * FMA instructions per 128 bytes read, measured by {@link #withCompute}; BF16 decode does 4 per 128 bytes plus
     * as many shifts and masks, Q8_0 8 plus 16 widening steps, Q4_0 16 plus about 20.
     */
    private static final int[] LOADS = {8, 16, 32};
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Default streamed buffer: 1 GiB, 32x the 32 MiB L3 of the reference machine. */
    public static final long DEFAULT_BUFFER_BYTES = 1L << 30;

    /** Measures both ceilings with the current pool size; {@code runs} repetitions, the best kept. */
    public static Roofline measure(long bufferBytes, int runs) {
        int threads = Parallel.pool().threads();
        return new Roofline(threads, readBandwidth(bufferBytes, runs), fmaThroughput(runs), bufferBytes, List.of());
    }

    /** {@link #measure} plus the stream with interleaved FMAs ({@link LoadedRead}) at each of {@link #LOADS}. */
    public static Roofline withCompute(long bufferBytes, int runs) {
        Roofline plain = measure(bufferBytes, runs);
        List<LoadedRead> loaded = new ArrayList<>();
        for (int fma : LOADS) loaded.add(new LoadedRead(fma, readBandwidth(bufferBytes, runs, fma)));
        return new Roofline(plain.threads, plain.readGBps, plain.fmaGflops, bufferBytes, List.copyOf(loaded));
    }

    /** Prints the ceilings for 1 thread and for all available processors: {@code Roofline [bufferMiB]}. */
    public static void main(String[] args) {
        long buffer = args.length > 0 ? Long.parseLong(args[0]) << 20 : DEFAULT_BUFFER_BYTES;
        int all = Runtime.getRuntime().availableProcessors();
        for (int threads : all > 1 ? new int[] {1, all} : new int[] {1}) {
            Parallel.setThreads(threads);
            System.out.println(measure(buffer, 5));
        }
    }

    public static double readBandwidth(long bufferBytes, int runs) {
        return readBandwidth(bufferBytes, runs, 0);
    }

    /** Best-of-runs read bandwidth with {@code fmaPer128Bytes} (a multiple of 8) independent FMAs per 128 bytes. */
    private static double readBandwidth(long bufferBytes, int runs, int fmaPer128Bytes) {
        long bytes = bufferBytes / (4L * F.vectorByteSize()) * (4L * F.vectorByteSize());
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(bytes, 64);
            buffer.fill((byte) 1); // touch every page so the runs measure DRAM, not page faults
            int blocks = (int) (bytes / (4L * F.vectorByteSize()));
            double best = 0;
            float[] sink = new float[Parallel.pool().threads()];
            for (int run = 0; run < runs + 1; run++) {
                long start = System.nanoTime();
                Parallel.pool().forRange(blocks, 1, (first, end) -> sink[(int) ((long) first * sink.length / blocks)] +=
                        fmaPer128Bytes == 0 ? sum(buffer, first, end) : sumWithFma(buffer, first, end, fmaPer128Bytes));
                double seconds = (System.nanoTime() - start) / 1e9;
                if (run > 0) best = Math.max(best, bytes / seconds / 1e9); // run 0 warms up the JIT
            }
            return best;
        }
    }

    /** Sum of the floats in blocks [first, end) of 4 vectors each. */
    private static float sum(MemorySegment buffer, int first, int end) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        long step = F.vectorByteSize();
        for (long o = first * 4L * step, stop = end * 4L * step; o < stop; o += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, buffer, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(F, buffer, o + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(F, buffer, o + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(F, buffer, o + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    /**
     * {@link #sum} with {@code fma} FMA instructions per 128 bytes on eight chains that never touch the data (a
     * multiple of 8 per block of 4 vectors: exact from 256-bit vectors up). Kept apart from {@link #sum}: with the
     * FMAs folded into it as a loop of zero trips, the plain stream read 29-30 instead of 34-36 GB/s on two threads.
     */
    private static float sumWithFma(MemorySegment buffer, int first, int end, int fma) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        FloatVector m = FloatVector.broadcast(F, 0.999999f), c = FloatVector.broadcast(F, 1e-7f);
        FloatVector f0 = FloatVector.broadcast(F, 1), f1 = f0, f2 = f0, f3 = f0, f4 = f0, f5 = f0, f6 = f0, f7 = f0;
        long step = F.vectorByteSize();
        for (long o = first * 4L * step, stop = end * 4L * step; o < stop; o += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, buffer, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(F, buffer, o + step, ByteOrder.LITTLE_ENDIAN));
            a0 = a0.add(FloatVector.fromMemorySegment(F, buffer, o + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(F, buffer, o + 3 * step, ByteOrder.LITTLE_ENDIAN));
            for (int i = 0, n = (int) (fma * 4 * step / 128); i < n; i += 8) {
                f0 = f0.fma(m, c);
                f1 = f1.fma(m, c);
                f2 = f2.fma(m, c);
                f3 = f3.fma(m, c);
                f4 = f4.fma(m, c);
                f5 = f5.fma(m, c);
                f6 = f6.fma(m, c);
                f7 = f7.fma(m, c);
            }
        }
        return a0.add(a1).add(f0.add(f1).add(f2.add(f3))).add(f4.add(f5).add(f6.add(f7))).reduceLanes(VectorOperators.ADD);
    }

    public static double fmaThroughput(int runs) {
        int threads = Parallel.pool().threads();
        long iterations = 20_000_000;
        float[] sink = new float[threads];
        double best = 0;
        for (int run = 0; run < runs + 1; run++) {
            long start = System.nanoTime();
            Parallel.pool().forRange(threads, 1, (first, end) -> {
                for (int t = first; t < end; t++) sink[t] += fmaLoop(iterations);
            });
            double seconds = (System.nanoTime() - start) / 1e9;
            if (run > 0) best = Math.max(best, threads * iterations * FMA_CHAINS * 2.0 * F.length() / seconds / 1e9);
        }
        return best;
    }

    /** Enough independent FMA chains to cover FMA latency times issue width (4 cycles x 2 ports here). */
    private static final int FMA_CHAINS = 10;

    private static float fmaLoop(long iterations) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f), c = FloatVector.broadcast(F, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(F, 1), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3), a4 = a0.add(4);
        FloatVector a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7), a8 = a0.add(8), a9 = a0.add(9);
        for (long i = 0; i < iterations; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).reduceLanes(VectorOperators.ADD);
    }
}
