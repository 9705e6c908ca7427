package org.flexidepth4j.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A GGUF v3 file of our own for tests and benchmark files that llama.cpp also reads: scalar metadata (strings, u32
 * for {@link Integer} as llama.cpp's integer keys expect, float32, bool), arrays (int32, float32, string), and F32,
 * F16 or BF16 tensors (shapes outermost first, as {@link Gguf} reports them). Tensors are streamed to the file, so a
 * 1B-parameter file needs no more memory than one chunk of values.
 */
public final class GgufWriter {
    private static final int ALIGNMENT = 32;
    private static final int CHUNK = 1 << 16;

    /** The element types this writer stores, with their GGUF type ids. */
    public enum Type {
        F32(0, 4), F16(1, 2), BF16(30, 2);

        final int id;
        final int bytes;

        Type(int id, int bytes) {
            this.id = id;
            this.bytes = bytes;
        }
    }

    /** Fills {@code values} with the tensor's elements from flat index {@code start} on. */
    @FunctionalInterface
    public interface Values {
        void fill(long start, float[] values);
    }

    private record Tensor(Type type, long[] shape, Values values) {
        long count() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    private final Map<String, Object> metadata = new LinkedHashMap<>();
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    public GgufWriter put(String key, Object value) {
        metadata.put(key, value);
        return this;
    }

    /** Copies every {@code tokenizer.*} key of another GGUF file (e.g. one of llama.cpp's vocabulary files). */
    public GgufWriter putTokenizerOf(Gguf vocabulary) {
        vocabulary.metadata().forEach((k, v) -> {
            if (k.startsWith("tokenizer.")) put(k, v instanceof Long l && l == l.intValue() ? Integer.valueOf(l.intValue()) : v);
        });
        return this;
    }

    public GgufWriter tensor(String name, float[] data, long... shape) {
        return tensor(name, Type.F32, (start, values) -> System.arraycopy(data, (int) start, values, 0, values.length), shape);
    }

    public GgufWriter tensor(String name, Type type, Values values, long... shape) {
        tensors.put(name, new Tensor(type, shape, values));
        return this;
    }

    public Path write(Path file) throws IOException {
        try (Out out = new Out(new BufferedOutputStream(Files.newOutputStream(file), 1 << 20))) {
            out.u32(0x46554747);
            out.u32(3);
            out.u64(tensors.size());
            out.u64(metadata.size());
            for (var e : metadata.entrySet()) {
                out.str(e.getKey());
                out.value(e.getKey(), e.getValue());
            }
            long offset = 0;
            for (var e : tensors.entrySet()) {
                out.str(e.getKey());
                long[] shape = e.getValue().shape();
                out.u32(shape.length);
                for (int d = shape.length - 1; d >= 0; d--) out.u64(shape[d]);
                out.u32(e.getValue().type().id);
                out.u64(offset);
                offset = align(offset + e.getValue().type().bytes * e.getValue().count());
            }
            out.pad();
            for (Tensor t : tensors.values()) {
                long count = t.count();
                float[] chunk = new float[(int) Math.min(CHUNK, count)];
                for (long start = 0; start < count; start += chunk.length) {
                    float[] values = start + chunk.length <= count ? chunk : new float[(int) (count - start)];
                    t.values().fill(start, values);
                    for (float f : values) {
                        switch (t.type()) {
                            case F32 -> out.u32(Float.floatToRawIntBits(f));
                            case F16 -> out.u16(Float.floatToFloat16(f));
                            case BF16 -> out.u16((short) (Float.floatToRawIntBits(f) + 0x7fff + ((Float.floatToRawIntBits(f) >>> 16) & 1) >>> 16));
                        }
                    }
                }
                out.pad();
            }
        }
        return file;
    }

    private static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static final class Out implements AutoCloseable {
        private final OutputStream stream;
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        private long written;

        Out(OutputStream stream) {
            this.stream = stream;
        }

        void raw(int n) throws IOException {
            stream.write(scratch.array(), 0, n);
            written += n;
            scratch.clear();
        }

        void u16(short v) throws IOException {
            scratch.putShort(v);
            raw(2);
        }

        void u32(int v) throws IOException {
            scratch.putInt(v);
            raw(4);
        }

        void u64(long v) throws IOException {
            scratch.putLong(v);
            raw(8);
        }

        void str(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            stream.write(b);
            written += b.length;
        }

        void value(String key, Object v) throws IOException {
            switch (v) {
                case String s -> { u32(8); str(s); }
                case Integer i -> { u32(4); u32(i); }
                case Float f -> { u32(6); u32(Float.floatToRawIntBits(f)); }
                case Boolean b -> { u32(7); stream.write(b ? 1 : 0); written++; }
                case int[] a -> { u32(9); u32(5); u64(a.length); for (int x : a) u32(x); }
                case float[] a -> { u32(9); u32(6); u64(a.length); for (float x : a) u32(Float.floatToRawIntBits(x)); }
                case String[] a -> { u32(9); u32(8); u64(a.length); for (String x : a) str(x); }
                default -> throw new IllegalArgumentException("metadata key " + key + ": type " + v.getClass());
            }
        }

        void pad() throws IOException {
            while (written % ALIGNMENT != 0) {
                stream.write(0);
                written++;
            }
        }

        @Override
        public void close() throws IOException {
            stream.close();
        }
    }
}
