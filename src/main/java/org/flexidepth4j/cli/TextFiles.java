package org.flexidepth4j.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.flexidepth4j.io.FormatException;

/** Text inputs of the commands: UTF-8, with one-line errors naming the file. */
final class TextFiles {
    private TextFiles() {
    }

    static String read(Path file) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (NoSuchFileException e) {
            throw new FormatException(file, "file not found");
        } catch (CharacterCodingException e) {
            throw new FormatException(file, "not valid UTF-8 text");
        } catch (IOException e) {
            throw new FormatException(file, "cannot read: " + e.getMessage());
        }
    }
}
