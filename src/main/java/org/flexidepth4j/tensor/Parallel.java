package org.flexidepth4j.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One long-lived pool of worker threads for data-parallel loops. Work is split into one contiguous chunk per
 * thread (a fixed partition, so reductions are deterministic for a given thread count); the caller runs the first
 * chunk itself. Workers spin briefly before parking, because a decode step issues many small parallel regions and
 * a park/unpark round trip would cost more than the work.
 */
public final class Parallel {
    /** Body of a parallel loop over the half-open index range [start, end). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end);
    }

    /** More threads than this only cost memory and contention: no machine this runs on has that many cores. */
    public static final int MAX_THREADS = 1024;
    private static final int SPIN_NANOS = 50_000;
    private static volatile Parallel shared;

    private final int threads;
    private final Thread[] workers;
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicInteger remaining = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile long generation;
    private volatile RangeBody body;
    private volatile int count;
    private volatile Thread caller;

    private Parallel(int threads) {
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int chunk = i + 1;
            workers[i] = Thread.ofPlatform().daemon().name("flexidepth-worker-" + chunk).start(() -> workerLoop(chunk));
        }
    }

    /** The shared pool; its size is set once by {@link #setThreads} (default: available processors). */
    public static Parallel pool() {
        Parallel p = shared;
        if (p == null) {
            synchronized (Parallel.class) {
                if (shared == null) shared = new Parallel(Math.min(MAX_THREADS, Runtime.getRuntime().availableProcessors()));
                p = shared;
            }
        }
        return p;
    }

    /** Replaces the shared pool by one of {@code threads} threads (old workers stay parked as idle daemons). */
    public static synchronized void setThreads(int threads) {
        if (threads < 1 || threads > MAX_THREADS) throw new IllegalArgumentException("threads must be in [1, " + MAX_THREADS + "], got " + threads);
        if (shared == null || shared.threads != threads) shared = new Parallel(threads);
    }

    public int threads() {
        return threads;
    }

    /** Runs body over [0, n) split into at most {@code threads} chunks of at least {@code minChunk} indices. */
    public void forRange(int n, int minChunk, RangeBody task) {
        int chunks = Math.min(threads, Math.max(1, n / Math.max(1, minChunk)));
        if (chunks <= 1 || lock.isHeldByCurrentThread() || Thread.currentThread().getName().startsWith("flexidepth-worker-")) {
            if (n > 0) task.run(0, n);
            return;
        }
        lock.lock();
        try {
            body = task;
            count = n;
            caller = Thread.currentThread();
            failure.set(null);
            remaining.set(threads - 1);
            generation++;
            for (Thread w : workers) LockSupport.unpark(w);
            runChunk(0, task, n);
            long start = System.nanoTime();
            while (remaining.get() > 0) {
                if (System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
                else LockSupport.parkNanos(this, 100_000);
            }
            Throwable t = failure.get();
            if (t instanceof RuntimeException re) throw re;
            if (t instanceof Error e) throw e;
            if (t != null) throw new RuntimeException(t);
        } finally {
            body = null;
            lock.unlock();
        }
    }

    public void forRange(int n, RangeBody task) {
        forRange(n, 1, task);
    }

    private void runChunk(int chunk, RangeBody task, int n) {
        long start = (long) n * chunk / threads;
        long end = (long) n * (chunk + 1) / threads;
        if (end > start) task.run((int) start, (int) end);
    }

    private void workerLoop(int chunk) {
        long seen = 0;
        while (true) {
            long spinStart = System.nanoTime();
            while (generation == seen) {
                if (System.nanoTime() - spinStart < SPIN_NANOS) Thread.onSpinWait();
                else LockSupport.park(this);
            }
            seen = generation;
            try {
                runChunk(chunk, body, count);
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
            if (remaining.decrementAndGet() == 0) LockSupport.unpark(caller);
        }
    }
}
