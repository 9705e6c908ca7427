package org.flexidepth4j;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.flexidepth4j.tensor.DType;

/** GGUF files made for tests from the shared ones. */
public final class GgufFiles {
    private GgufFiles() {
    }

    /**
     * A copy of {@code source} at {@code target} whose tensor {@code tensor} claims type {@code to} (its bytes are
     * unchanged: {@code to} must need no more bytes than the tensor's own type).
     */
    public static Path withTensorType(Path source, Path target, String tensor, DType to) throws IOException {
        byte[] bytes = Files.readAllBytes(source);
        byte[] name = tensor.getBytes(StandardCharsets.UTF_8);
        int at = indexOf(bytes, name);
        ByteBuffer info = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        // the tensor info after its name: uint32 dimensions, uint64 per dimension, uint32 type
        int typeAt = at + name.length + 4 + 8 * info.getInt(at + name.length);
        DType from = DType.ofGgml(info.getInt(typeAt));
        if (from == null || to.byteSize(256) > from.byteSize(256)) throw new IllegalArgumentException(tensor + " is " + from + ": " + to + " needs more bytes");
        info.putInt(typeAt, to.ggmlId);
        return Files.write(target, bytes);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new IllegalArgumentException("no tensor named " + new String(needle, StandardCharsets.UTF_8));
    }
}
