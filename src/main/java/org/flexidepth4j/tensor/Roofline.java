package org.flexidepth4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The two ceilings a kernel can hit on this machine, measured with the same Vector API the kernels use: streaming
 * read bandwidth from DRAM (sum over a buffer far larger than the last-level cache) and peak FMA throughput
 * (independent accumulators, no memory traffic). Both use the shared {@link Parallel} pool at its current size.
 *
 * @param threads          pool size the numbers were measured with
 * @param readGBps         best-of-runs streaming read bandwidth, 1e9 bytes per second
 * @param fmaGflops        best-of-runs float32 FMA throughput, 1e9 floating-point operations (2 per FMA lane) per second
 * @param bufferBytes      size of the streamed buffer
 */
public record Roofline(int threads, double readGBps, double fmaGflops, long bufferBytes) {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Default streamed buffer: 1 GiB, 32x the 32 MiB L3 of the reference machine. */
    public static final long DEFAULT_BUFFER_BYTES = 1L << 30;

    /** Measures both ceilings with the current pool size; {@code runs} repetitions, the best kept. */
    public static Roofline measure(long bufferBytes, int runs) {
        int threads = Parallel.pool().threads();
        return new Roofline(threads, readBandwidth(bufferBytes, runs), fmaThroughput(runs), bufferBytes);
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
        long bytes = bufferBytes / (4L * F.vectorByteSize()) * (4L * F.vectorByteSize());
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(bytes, 64);
            buffer.fill((byte) 1); // touch every page so the runs measure DRAM, not page faults
            int blocks = (int) (bytes / (4L * F.vectorByteSize()));
            double best = 0;
            float[] sink = new float[Parallel.pool().threads()];
            for (int run = 0; run < runs + 1; run++) {
                long start = System.nanoTime();
                Parallel.pool().forRange(blocks, 1, (first, end) -> sink[(int) ((long) first * sink.length / blocks)] += sum(buffer, first, end));
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
