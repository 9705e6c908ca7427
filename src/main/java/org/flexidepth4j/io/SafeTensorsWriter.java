package org.flexidepth4j.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.nio.file.Path;

/** Builds a safetensors file in memory order of insertion and writes it atomically (temp file, then rename). */
public final class SafeTensorsWriter {
    private record Pending(String dtype, long[] shape, byte[] bytes) {
    }

    private final Map<String, Pending> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafeTensorsWriter addF32(String name, float[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return add(name, "F32", shape, b.array(), values.length);
    }

    public SafeTensorsWriter addI32(String name, int[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(values);
        return add(name, "I32", shape, b.array(), values.length);
    }

    private SafeTensorsWriter add(String name, String dtype, long[] shape, byte[] bytes, long count) {
        long n = 1;
        for (long s : shape) n *= s;
        if (n != count) throw new IllegalArgumentException("tensor " + name + ": shape holds " + n + " values, got " + count);
        tensors.put(name, new Pending(dtype, shape.clone(), bytes));
        return this;
    }

    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public void write(Path file) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Pending> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype());
            ArrayNode shape = t.putArray("shape");
            for (long s : e.getValue().shape()) shape.add(s);
            ArrayNode offs = t.putArray("data_offsets");
            offs.add(offset);
            offset += e.getValue().bytes().length;
            offs.add(offset);
        }
        byte[] headerBytes;
        try {
            headerBytes = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int pad = (8 - headerBytes.length % 8) % 8;
        AtomicFiles.write(file, out -> {
            try (OutputStream o = new BufferedOutputStream(out, 1 << 20)) {
                o.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerBytes.length + pad).array());
                o.write(headerBytes);
                for (int i = 0; i < pad; i++) o.write(' ');
                for (Pending p : tensors.values()) o.write(p.bytes());
            }
        });
    }
}
