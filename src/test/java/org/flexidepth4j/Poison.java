package org.flexidepth4j;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.flexidepth4j.io.Json;

/** Overwrites every value of one tensor of a safetensors file (tests of non-finite inputs and activations). */
public final class Poison {
    private Poison() {
    }

    public static void nan(Path file, String tensor) throws IOException {
        fill(file, tensor, Float.NaN);
    }

    public static void fill(Path file, String tensor, float value) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            byte[] len = new byte[8];
            f.readFully(len);
            long headerLen = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] header = new byte[(int) headerLen];
            f.readFully(header);
            JsonNode t = Json.MAPPER.readTree(new String(header, StandardCharsets.UTF_8)).get(tensor);
            long begin = t.get("data_offsets").get(0).asLong(), end = t.get("data_offsets").get(1).asLong();
            ByteBuffer values = ByteBuffer.allocate((int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
            switch (t.get("dtype").asText()) {
                case "F32" -> { while (values.hasRemaining()) values.putFloat(value); }
                case "BF16" -> { while (values.hasRemaining()) values.putShort((short) (Float.floatToRawIntBits(value) >>> 16)); }
                case "F16" -> { while (values.hasRemaining()) values.putShort(Float.floatToFloat16(value)); }
                default -> throw new IllegalArgumentException(tensor + " is not a float tensor");
            }
            f.seek(8 + headerLen + begin);
            f.write(values.array());
        }
    }
}
