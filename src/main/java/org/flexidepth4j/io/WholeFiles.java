package org.flexidepth4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Inputs read whole into memory (JSON, text, small tokenizer files): only below a size cap, with one-line errors. */
public final class WholeFiles {
    /** A larger file would need several GiB of heap as a Java string; weights are mapped, never read whole. */
    public static final long MAX_BYTES = 1L << 30;

    private WholeFiles() {
    }

    public static byte[] bytes(Path file) {
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) throw new FormatException(file, "is " + size + " bytes, more than the " + (MAX_BYTES >> 20) + " MiB read whole; split it");
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new FormatException(file, "file not found");
        } catch (IOException e) {
            throw new FormatException(file, "cannot read: " + e.getMessage());
        }
    }

    /** The file as strictly decoded UTF-8. */
    public static String utf8(Path file) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes(file))).toString();
        } catch (CharacterCodingException e) {
            throw new FormatException(file, "not valid UTF-8 text");
        }
    }
}
