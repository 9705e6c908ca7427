package org.flexidepth4j.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Memory-maps a whole weight file read-only; the mapping lives as long as a segment of it is reachable. */
public final class MappedFile {
    private MappedFile() {
    }

    public static MemorySegment map(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.ofAuto());
        } catch (NoSuchFileException e) {
            throw new FormatException(file, "file not found");
        } catch (IOException e) {
            throw new FormatException(file, "cannot read: " + e.getMessage(), e);
        }
    }
}
