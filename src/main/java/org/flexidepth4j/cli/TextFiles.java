package org.flexidepth4j.cli;

import java.nio.file.Path;
import org.flexidepth4j.io.WholeFiles;

/** Text inputs of the commands: UTF-8, with one-line errors naming the file. */
final class TextFiles {
    private TextFiles() {
    }

    static String read(Path file) {
        return WholeFiles.utf8(file);
    }
}
