package org.flexidepth4j.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Matrices;

/**
 * Reader for GGUF v2/v3 files (llama.cpp): header, typed metadata, tensor infos and the aligned data section.
 * The file is memory-mapped; every count, length and offset is checked against the file size before use.
 * Tensors come out as {@link TensorEntry} with the shape outermost-first (GGUF stores ne[0], the innermost
 * dimension, first), so a GGUF [ne0=cols, ne1=rows] weight has shape [rows, cols].
 *
 * <p>Metadata values: integer scalars up to 32 bits as Integer (uint32 as Long), 64-bit as Long, float32 as
 * Float, float64 as Double, bool as Boolean, string as String; arrays as int[] (8/16/32-bit ints), long[]
 * (uint32/64-bit ints), float[], double[], boolean[], String[], or Object[] for arrays of arrays.
 */
public final class Gguf {
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble LE_DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int MAGIC = 0x46554747; // "GGUF" read little-endian
    private static final int MAX_DIMS = 4;
    private static final int MAX_ARRAY_DEPTH = 4;

    private final Path file;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, TensorEntry> tensors;
    private final Map<String, String> unsupported;

    private Gguf(Path file, int version, Map<String, Object> metadata, Map<String, TensorEntry> tensors,
                 Map<String, String> unsupported) {
        this.file = file;
        this.version = version;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.unsupported = Collections.unmodifiableMap(unsupported);
    }

    public static Gguf open(Path file) {
        return parse(file, MappedFile.map(file));
    }

    public Path file() {
        return file;
    }

    public int version() {
        return version;
    }

    public Map<String, Object> metadata() {
        return metadata;
    }

    /** Tensors of ggml block types no kernel here computes with (name -> type name, e.g. "IQ2_XXS"); {@link #tensor} refuses them. */
    public Map<String, String> unsupportedTensors() {
        return unsupported;
    }

    /** Tensors in file order, shapes outermost-first ({@link #unsupportedTensors()} among them). */
    public Map<String, TensorEntry> tensors() {
        return tensors;
    }

    public TensorEntry tensor(String name) {
        if (unsupported.containsKey(name)) throw unsupportedType(file, name, unsupported.get(name));
        TensorEntry e = tensors.get(name);
        if (e == null) throw new FormatException(file, "tensor " + name + " is missing");
        return e;
    }

    /** The error for a tensor whose type no kernel here computes with. */
    public static FormatException unsupportedType(Path file, String tensor, String type) {
        return new FormatException(file, "tensor " + tensor + " has type " + type + ", not supported");
    }

    /** general.architecture, e.g. "llama". */
    public String architecture() {
        return getString("general.architecture");
    }

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    private Object require(String key) {
        Object v = metadata.get(key);
        if (v == null) throw new FormatException(file, "metadata key " + key + " is missing");
        return v;
    }

    private FormatException wrongType(String key, String expected) {
        return new FormatException(file, "metadata key " + key + " is " + metadata.get(key).getClass().getSimpleName() + ", expected " + expected);
    }

    public String getString(String key) {
        if (require(key) instanceof String s) return s;
        throw wrongType(key, "a string");
    }

    public String getString(String key, String fallback) {
        return has(key) ? getString(key) : fallback;
    }

    public long getLong(String key) {
        Object v = require(key);
        if (v instanceof Integer || v instanceof Long) return ((Number) v).longValue();
        throw wrongType(key, "an integer");
    }

    public int getInt(String key) {
        long v = getLong(key);
        if (v != (int) v) throw new FormatException(file, "metadata key " + key + " = " + v + " does not fit an int");
        return (int) v;
    }

    public int getInt(String key, int fallback) {
        return has(key) ? getInt(key) : fallback;
    }

    public float getFloat(String key) {
        Object v = require(key);
        if (v instanceof Number n) return n.floatValue();
        throw wrongType(key, "a number");
    }

    public float getFloat(String key, float fallback) {
        return has(key) ? getFloat(key) : fallback;
    }

    public boolean getBoolean(String key, boolean fallback) {
        if (!has(key)) return fallback;
        if (metadata.get(key) instanceof Boolean b) return b;
        throw wrongType(key, "a bool");
    }

    public String[] getStringArray(String key) {
        if (require(key) instanceof String[] a) return a;
        throw wrongType(key, "an array of strings");
    }

    public int[] getIntArray(String key) {
        Object v = require(key);
        if (v instanceof int[] a) return a;
        if (v instanceof long[] a) {
            int[] out = new int[a.length];
            for (int i = 0; i < a.length; i++) {
                if (a[i] != (int) a[i]) throw new FormatException(file, "metadata key " + key + "[" + i + "] = " + a[i] + " does not fit an int");
                out[i] = (int) a[i];
            }
            return out;
        }
        throw wrongType(key, "an array of integers");
    }

    public float[] getFloatArray(String key) {
        Object v = require(key);
        if (v instanceof float[] a) return a;
        if (v instanceof double[] a) {
            float[] out = new float[a.length];
            for (int i = 0; i < a.length; i++) out[i] = (float) a[i];
            return out;
        }
        throw wrongType(key, "an array of floats");
    }

    static Gguf parse(Path file, MemorySegment whole) {
        Reader r = new Reader(file, whole);
        long size = whole.byteSize();
        if (size < 24) throw new FormatException(file, "truncated: " + size + " bytes is shorter than a GGUF header");
        int magic = r.i32();
        if (magic != MAGIC) throw new FormatException(file, "not a GGUF file (bad magic 0x" + Integer.toHexString(magic) + ")");
        int version = r.i32();
        if (version != 2 && version != 3) throw new FormatException(file, "unsupported GGUF version " + version + " (expected 2 or 3)");
        long tensorCount = r.i64();
        long kvCount = r.i64();
        // Every key/value takes at least 12 bytes and every tensor info at least 24: larger counts cannot fit.
        if (kvCount < 0 || kvCount > size / 12) throw new FormatException(file, "metadata count " + kvCount + " is not plausible for a " + size + "-byte file");
        if (tensorCount < 0 || tensorCount > size / 24) throw new FormatException(file, "tensor count " + tensorCount + " is not plausible for a " + size + "-byte file");
        Map<String, Object> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = r.string();
            int type = r.i32();
            if (metadata.put(key, r.value(type, key, 0)) != null) throw new FormatException(file, "duplicate metadata key " + key);
        }
        long alignment = 32;
        if (metadata.containsKey("general.alignment")) {
            Object a = metadata.get("general.alignment");
            long al = a instanceof Number n ? n.longValue() : -1;
            if (al <= 0 || al > 1 << 20 || (al & (al - 1)) != 0) throw new FormatException(file, "general.alignment " + a + " is not a power of two");
            alignment = al;
        }
        record Info(String name, long[] ne, DType dtype, long offset) {
        }
        List<Info> infos = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = r.string();
            int nDims = r.i32();
            if (nDims < 1 || nDims > MAX_DIMS) throw new FormatException(file, "tensor " + name + " has " + nDims + " dimensions (expected 1.." + MAX_DIMS + ")");
            long[] ne = new long[nDims];
            for (int d = 0; d < nDims; d++) {
                ne[d] = r.i64();
                if (ne[d] < 0 || ne[d] > Integer.MAX_VALUE) throw new FormatException(file, "tensor " + name + " has an invalid dimension " + ne[d]);
            }
            int type = r.i32();
            DType dtype = DType.ofGgml(type);
            if (dtype == null) throw new FormatException(file, "tensor " + name + " has unknown ggml type " + type);
            infos.add(new Info(name, ne, dtype, r.i64()));
        }
        long dataOffset = alignUp(r.pos, alignment);
        if (tensorCount > 0 && dataOffset > size) throw new FormatException(file, "truncated: data section would start at " + dataOffset + " but the file has " + size + " bytes");
        long dataSize = Math.max(0, size - dataOffset);
        Map<String, TensorEntry> tensors = new LinkedHashMap<>();
        Map<String, String> unsupported = new LinkedHashMap<>();
        List<long[]> ranges = new ArrayList<>();
        for (int idx = 0; idx < infos.size(); idx++) {
            Info info = infos.get(idx);
            String name = info.name;
            if (tensors.containsKey(name) || unsupported.containsKey(name)) throw new FormatException(file, "duplicate tensor " + name);
            int blockSize = info.dtype.blockSize;
            long elements = 1;
            for (long d : info.ne) {
                try {
                    elements = Math.multiplyExact(elements, d);
                } catch (ArithmeticException e) {
                    throw new FormatException(file, "tensor " + name + " shape overflows");
                }
            }
            if (info.ne[0] % blockSize != 0) {
                throw new FormatException(file, "tensor " + name + " row length " + info.ne[0] + " is not a multiple of the " + info.dtype + " block size " + blockSize);
            }
            long bytes = info.dtype.byteSize(elements);
            if (info.offset < 0 || info.offset % alignment != 0) throw new FormatException(file, "tensor " + name + " offset " + info.offset + " is not aligned to " + alignment);
            if (info.offset > dataSize || bytes > dataSize - info.offset) {
                throw new FormatException(file, "tensor " + name + " bytes [" + info.offset + ", " + (info.offset + bytes) + ") lie outside the " + dataSize + " data bytes (truncated file?)");
            }
            long[] shape = new long[info.ne.length];
            for (int d = 0; d < shape.length; d++) shape[d] = info.ne[shape.length - 1 - d];
            ranges.add(new long[] {info.offset, info.offset + bytes, idx});
            if (info.dtype.isQuantized() && !Matrices.supports(info.dtype)) unsupported.put(name, info.dtype.name());
            tensors.put(name, new TensorEntry(name, info.dtype, shape, whole.asSlice(dataOffset + info.offset, bytes), file));
        }
        ranges.sort(Comparator.comparingLong(x -> x[0]));
        for (int i = 1; i < ranges.size(); i++) {
            if (ranges.get(i)[0] < ranges.get(i - 1)[1]) {
                throw new FormatException(file, "tensors " + infos.get((int) ranges.get(i - 1)[2]).name + " and " + infos.get((int) ranges.get(i)[2]).name + " overlap");
            }
        }
        return new Gguf(file, version, metadata, tensors, unsupported);
    }

    private static long alignUp(long x, long alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    /** Bounds-checked little-endian cursor over the mapped file. */
    private static final class Reader {
        final Path file;
        final MemorySegment seg;
        final long size;
        long pos;

        Reader(Path file, MemorySegment seg) {
            this.file = file;
            this.seg = seg;
            this.size = seg.byteSize();
        }

        void need(long n, String what) {
            if (n < 0 || n > size - pos) throw new FormatException(file, "truncated: " + what + " at offset " + pos + " needs " + n + " bytes, " + (size - pos) + " remain");
        }

        int i32() {
            need(4, "int32");
            int v = seg.get(LE_INT, pos);
            pos += 4;
            return v;
        }

        long i64() {
            need(8, "int64");
            long v = seg.get(LE_LONG, pos);
            pos += 8;
            return v;
        }

        String string() {
            long len = i64();
            if (len < 0 || len > size - pos || len > Integer.MAX_VALUE - 8) throw new FormatException(file, "string length " + Long.toUnsignedString(len) + " at offset " + (pos - 8) + " exceeds the file");
            byte[] b = new byte[(int) len];
            MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, b, 0, b.length);
            pos += len;
            // Some vocabularies hold partial UTF-8 sequences: keep them readable rather than refusing the file.
            return new String(b, StandardCharsets.UTF_8);
        }

        Object value(int type, String key, int depth) {
            return switch (type) {
                case 0 -> { need(1, key); yield Byte.toUnsignedInt(seg.get(ValueLayout.JAVA_BYTE, pos++)); }
                case 1 -> { need(1, key); yield (int) seg.get(ValueLayout.JAVA_BYTE, pos++); }
                case 2 -> { need(2, key); int v = Short.toUnsignedInt(seg.get(LE_SHORT, pos)); pos += 2; yield v; }
                case 3 -> { need(2, key); int v = seg.get(LE_SHORT, pos); pos += 2; yield v; }
                case 4 -> Integer.toUnsignedLong(i32());
                case 5 -> i32();
                case 6 -> { need(4, key); float v = seg.get(LE_FLOAT, pos); pos += 4; yield v; }
                case 7 -> { need(1, key); byte b = seg.get(ValueLayout.JAVA_BYTE, pos++); yield b != 0; }
                case 8 -> string();
                case 9 -> array(key, depth);
                case 10, 11 -> i64();
                case 12 -> { need(8, key); double v = seg.get(LE_DOUBLE, pos); pos += 8; yield v; }
                default -> throw new FormatException(file, "metadata key " + key + " has unknown value type " + type);
            };
        }

        private static int elementBytes(int type) {
            return switch (type) {
                case 0, 1, 7 -> 1;
                case 2, 3 -> 2;
                case 4, 5, 6 -> 4;
                case 10, 11, 12 -> 8;
                case 8 -> 8; // at least the length prefix
                case 9 -> 12; // at least type + count
                default -> 1;
            };
        }

        Object array(String key, int depth) {
            if (depth >= MAX_ARRAY_DEPTH) throw new FormatException(file, "metadata key " + key + " nests arrays too deeply");
            int type = i32();
            long count = i64();
            if (count < 0 || count > (size - pos) / elementBytes(type)) {
                throw new FormatException(file, "metadata key " + key + " array length " + Long.toUnsignedString(count) + " exceeds the file");
            }
            int n = (int) count;
            switch (type) {
                case 0, 1, 2, 3, 5 -> {
                    int[] a = new int[n];
                    for (int i = 0; i < n; i++) a[i] = ((Number) value(type, key, depth)).intValue();
                    return a;
                }
                case 4, 10, 11 -> {
                    long[] a = new long[n];
                    for (int i = 0; i < n; i++) a[i] = ((Number) value(type, key, depth)).longValue();
                    return a;
                }
                case 6 -> {
                    float[] a = new float[n];
                    MemorySegment.copy(seg, LE_FLOAT, pos, a, 0, n);
                    pos += 4L * n;
                    return a;
                }
                case 12 -> {
                    double[] a = new double[n];
                    for (int i = 0; i < n; i++) a[i] = (Double) value(type, key, depth);
                    return a;
                }
                case 7 -> {
                    boolean[] a = new boolean[n];
                    for (int i = 0; i < n; i++) a[i] = (Boolean) value(type, key, depth);
                    return a;
                }
                case 8 -> {
                    String[] a = new String[n];
                    for (int i = 0; i < n; i++) a[i] = string();
                    return a;
                }
                case 9 -> {
                    Object[] a = new Object[n];
                    for (int i = 0; i < n; i++) a[i] = array(key, depth + 1);
                    return a;
                }
                default -> throw new FormatException(file, "metadata key " + key + " is an array of unknown type " + type);
            }
        }
    }
}
