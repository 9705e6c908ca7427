package org.flexidepth4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

/**
 * An output directory with one writer at a time. {@link #lock} holds {@code OUT.lock} (an OS file lock, released
 * when the process dies, so a killed run never blocks the next); a second writer fails at once naming the holder.
 * The run writes into {@code OUT.partial} ({@link #partial()}) and {@link #commit} renames it to {@code OUT}, so
 * {@code OUT} is absent, the previous complete one, or the new complete one; a killed run leaves only
 * {@code OUT.partial}, which {@code --resume} continues from or a rerun replaces.
 */
public final class OutputDirectory implements AutoCloseable {
    private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

    private final Path out;
    private final Path lockFile;
    private final FileChannel channel;
    private final FileLock lock;

    private OutputDirectory(Path out, Path lockFile, FileChannel channel, FileLock lock) {
        this.out = out;
        this.lockFile = lockFile;
        this.channel = channel;
        this.lock = lock;
    }

    /** {@code OUT.partial}: where a run writes until it {@link #commit}s. */
    public static Path partialOf(Path out) {
        Path abs = out.toAbsolutePath().normalize();
        return abs.resolveSibling(abs.getFileName() + ".partial");
    }

    /** Takes the lock of {@code out}, or fails at once with a one-line error naming the process that holds it. */
    public static OutputDirectory lock(Path out) {
        Path abs = out.toAbsolutePath().normalize();
        Path lockFile = abs.resolveSibling(abs.getFileName() + ".lock");
        // Closing any descriptor of a file drops this process's lock on it (POSIX), so within the JVM a set says who
        // holds what, and the lock file is never opened twice here.
        if (!HELD.add(abs)) throw busy(abs, "process " + ProcessHandle.current().pid() + ", this one");
        try {
            Files.createDirectories(abs.getParent());
            // A holder that finished deletes the lock file; if that happens between our open and our lock, we lock a
            // file no one else can see: the path must name the same file before the open and after the lock.
            for (int attempt = 0; attempt < 100; attempt++) {
                try {
                    Files.createFile(lockFile);
                } catch (FileAlreadyExistsException e) {
                    // the holder's, or a killed run's
                }
                Object before = fileKey(lockFile);
                FileChannel ch;
                try {
                    ch = FileChannel.open(lockFile, StandardOpenOption.READ, StandardOpenOption.WRITE);
                } catch (NoSuchFileException e) {
                    continue;
                }
                FileLock lock = ch.tryLock();
                if (lock == null) {
                    ch.close();
                    throw busy(abs, holder(lockFile));
                }
                if (before != null && before.equals(fileKey(lockFile))) {
                    ch.truncate(0);
                    ch.write(ByteBuffer.wrap(("process " + ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8)), 0);
                    return new OutputDirectory(abs, lockFile, ch, lock);
                }
                lock.release();
                ch.close();
            }
            throw new FormatException(lockFile, "could not be locked: other runs keep replacing it");
        } catch (IOException e) {
            HELD.remove(abs);
            throw new FormatException(lockFile, "cannot lock: " + e.getMessage());
        } catch (RuntimeException e) {
            HELD.remove(abs);
            throw e;
        }
    }

    private static FormatException busy(Path out, String holder) {
        return new FormatException(out, "another run is writing this output directory (" + holder + "); wait for it to finish or choose another output directory");
    }

    private static Object fileKey(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class).fileKey();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static String holder(Path lockFile) throws IOException {
        try {
            String s = Files.readString(lockFile, StandardCharsets.UTF_8).strip();
            return s.isEmpty() ? "lock " + lockFile : s;
        } catch (NoSuchFileException e) {
            return "lock " + lockFile + ", just released";
        }
    }

    public Path out() {
        return out;
    }

    public Path partial() {
        return partialOf(out);
    }

    /** Empties {@code OUT.partial} (left by a killed run) and returns it. */
    public Path fresh() {
        Path p = partial();
        try {
            AtomicFiles.deleteTree(p);
            Files.createDirectories(p);
        } catch (IOException e) {
            throw new FormatException(p, "cannot prepare: " + e.getMessage());
        }
        return p;
    }

    /** Renames the finished {@code OUT.partial} to {@code OUT}; a previous {@code OUT} is moved aside, then deleted. */
    public void commit() {
        moveIntoPlace(partial(), out);
    }

    /** Renames the finished directory {@code done} to {@code out}; a previous {@code out} is moved aside, then deleted. */
    public static void moveIntoPlace(Path done, Path out) {
        try {
            Path old = null;
            if (Files.exists(out)) {
                old = out.resolveSibling("." + out.getFileName() + ".old-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
                Files.move(out, old, StandardCopyOption.ATOMIC_MOVE);
            }
            try {
                Files.move(done, out, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(done, out);
            }
            if (old != null) AtomicFiles.deleteTree(old);
        } catch (IOException e) {
            throw new FormatException(out, "cannot move " + done.getFileName() + " into place: " + e.getMessage());
        }
    }

    /** Runs {@code body} on a fresh {@code OUT.partial} and commits it; on failure the partial is deleted. */
    public <T> T produce(Function<Path, T> body) {
        Path p = fresh();
        T result;
        try {
            result = body.apply(p);
        } catch (RuntimeException | Error e) {
            discardPartial();
            throw e;
        }
        commit();
        return result;
    }

    /** Deletes {@code OUT.partial} unless it holds {@code keep} (a checkpoint a --resume can continue from). */
    public void discardPartialUnless(String keep) {
        if (!Files.exists(partial().resolve(keep))) discardPartial();
    }

    public void discardPartial() {
        try {
            AtomicFiles.deleteTree(partial());
        } catch (IOException ignored) {
            // a leftover OUT.partial is replaced by the next run
        }
    }

    /** Releases the lock and removes the lock file (while still holding it, so no one locks the removed file). */
    @Override
    public void close() {
        try {
            Files.deleteIfExists(lockFile);
            lock.release();
            channel.close();
        } catch (IOException ignored) {
            // the OS releases the lock with the process anyway
        } finally {
            HELD.remove(out);
        }
    }
}
