package org.flexidepth4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One writer per output directory, across processes and threads; OUT appears only complete. */
class OutputDirectoryTest {
    /** Holds the lock of args[0] until its standard input closes (the other process of the concurrent-writer test). */
    public static void main(String[] args) throws Exception {
        try (OutputDirectory dir = OutputDirectory.lock(Path.of(args[0]))) {
            System.out.println("locked");
            System.out.flush();
            while (System.in.read() >= 0) {
                // wait for the parent
            }
        }
    }

    @Test
    void secondProcessFailsAtOnceNamingTheHolder(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", System.getProperty("java.class.path"),
                OutputDirectoryTest.class.getName(), out.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(holder.getInputStream()));
            assertThat(r.readLine()).isEqualTo("locked");
            long start = System.nanoTime();
            assertThatThrownBy(() -> OutputDirectory.lock(out)).isInstanceOf(FormatException.class)
                    .hasMessageContaining(out.toString()).hasMessageContaining("another run is writing this output directory")
                    .hasMessageContaining("process " + holder.pid());
            assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(5));
        } finally {
            holder.getOutputStream().close();
            assertThat(holder.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        // the holder exited and removed its lock: the next writer gets it
        try (OutputDirectory dir = OutputDirectory.lock(out)) {
            assertThat(dir.out()).isEqualTo(out.toAbsolutePath());
        }
        assertThat(tmp.resolve("out.lock")).doesNotExist();
    }

    @Test
    void killedHolderDoesNotBlockTheNextRun(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", System.getProperty("java.class.path"),
                OutputDirectoryTest.class.getName(), out.toString()).redirectErrorStream(true).start();
        assertThat(new BufferedReader(new InputStreamReader(holder.getInputStream())).readLine()).isEqualTo("locked");
        holder.destroyForcibly().waitFor();
        assertThat(tmp.resolve("out.lock")).exists(); // left behind by the kill, but no longer locked
        try (OutputDirectory dir = OutputDirectory.lock(out)) {
            assertThat(Files.readString(tmp.resolve("out.lock"))).isEqualTo("process " + ProcessHandle.current().pid());
        }
    }

    @Test
    void secondThreadFailsWhileTheFirstWrites(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        CountDownLatch locked = new CountDownLatch(1), tried = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread first = Thread.ofPlatform().start(() -> {
            try (OutputDirectory dir = OutputDirectory.lock(out)) {
                dir.produce(work -> {
                    locked.countDown();
                    try {
                        Files.writeString(work.resolve("a.txt"), "first");
                        tried.await();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    return work;
                });
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        locked.await();
        assertThatThrownBy(() -> OutputDirectory.lock(out)).hasMessageContaining("another run is writing this output directory");
        assertThat(out).doesNotExist(); // still being written, in out.partial
        tried.countDown();
        first.join();
        assertThat(failure.get()).isNull();
        assertThat(Files.readString(out.resolve("a.txt"))).isEqualTo("first");
        assertThat(tmp.resolve("out.partial")).doesNotExist();
    }

    @Test
    void commitReplacesThePreviousOutputWhole(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        Files.writeString(out.resolve("old.txt"), "old");
        try (OutputDirectory dir = OutputDirectory.lock(out)) {
            Files.writeString(dir.fresh().resolve("new.txt"), "new");
            assertThat(out.resolve("old.txt")).exists();
            dir.commit();
        }
        assertThat(out.resolve("new.txt")).exists();
        assertThat(out.resolve("old.txt")).doesNotExist();
        try (var files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("out");
        }
    }

    @Test
    void failedRunLeavesNoPartial(@TempDir Path tmp) {
        Path out = tmp.resolve("out");
        try (OutputDirectory dir = OutputDirectory.lock(out)) {
            assertThatThrownBy(() -> dir.produce(work -> {
                throw new IllegalArgumentException("bad input");
            })).hasMessage("bad input");
        }
        assertThat(tmp.resolve("out.partial")).doesNotExist();
        assertThat(out).doesNotExist();
    }
}
