package org.flexidepth4j.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A GGUF v3 file of our own for tests: metadata of strings, int32, float32 and bool, and F32 tensors (shapes
 * outermost first, as {@link Gguf} reports them).
 */
public final class GgufWriter {
    private static final int ALIGNMENT = 32;
    private final Map<String, Object> metadata = new LinkedHashMap<>();
    private final Map<String, long[]> shapes = new LinkedHashMap<>();
    private final Map<String, float[]> values = new LinkedHashMap<>();

    public GgufWriter put(String key, Object value) {
        metadata.put(key, value);
        return this;
    }

    public GgufWriter tensor(String name, float[] data, long... shape) {
        shapes.put(name, shape);
        values.put(name, data);
        return this;
    }

    public Path write(Path file) throws IOException {
        Out out = new Out();
        out.u32(0x46554747);
        out.u32(3);
        out.u64(shapes.size());
        out.u64(metadata.size());
        metadata.forEach((k, v) -> {
            out.str(k);
            switch (v) {
                case String s -> { out.u32(8); out.str(s); }
                case Integer i -> { out.u32(5); out.u32(i); }
                case Float f -> { out.u32(6); out.u32(Float.floatToRawIntBits(f)); }
                case Boolean b -> { out.u32(7); out.bytes.write(b ? 1 : 0); }
                default -> throw new IllegalArgumentException("metadata type " + v.getClass());
            }
        });
        long offset = 0;
        for (var e : shapes.entrySet()) {
            out.str(e.getKey());
            long[] shape = e.getValue();
            out.u32(shape.length);
            for (int d = shape.length - 1; d >= 0; d--) out.u64(shape[d]);
            out.u32(0);
            out.u64(offset);
            offset = align(offset + 4L * values.get(e.getKey()).length);
        }
        out.pad();
        for (float[] v : values.values()) {
            for (float f : v) out.u32(Float.floatToRawIntBits(f));
            out.pad();
        }
        Files.write(file, out.bytes.toByteArray());
        return file;
    }

    private static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static final class Out {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        void u32(int v) {
            bytes.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
        }

        void u64(long v) {
            bytes.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
        }

        void str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes.writeBytes(b);
        }

        void pad() {
            while (bytes.size() % ALIGNMENT != 0) bytes.write(0);
        }
    }
}
