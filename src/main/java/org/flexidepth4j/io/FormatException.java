package org.flexidepth4j.io;

import java.nio.file.Path;

/** A file that cannot be used as given: its message is one line naming the file and the problem. */
public class FormatException extends RuntimeException {
    public FormatException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public FormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
