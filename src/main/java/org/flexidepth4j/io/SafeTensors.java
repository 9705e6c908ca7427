package org.flexidepth4j.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flexidepth4j.tensor.DType;

/**
 * Reader for the safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor names
 * to dtype, shape and data offsets, then the data. The file is memory-mapped; every header claim is checked
 * against the file before any tensor is handed out.
 */
public final class SafeTensors {
    /** Headers above this size are refused: real headers are kilobytes, a huge one means a corrupt length. */
    public static final long MAX_HEADER_BYTES = 100L << 20;

    private final Path file;
    private final Map<String, TensorEntry> tensors;
    private final Map<String, String> metadata;

    private SafeTensors(Path file, Map<String, TensorEntry> tensors, Map<String, String> metadata) {
        this.file = file;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    public Path file() {
        return file;
    }

    public Map<String, TensorEntry> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public TensorEntry get(String name) {
        TensorEntry e = tensors.get(name);
        if (e == null) throw new FormatException(file, "tensor " + name + " is missing");
        return e;
    }

    public static SafeTensors open(Path file) {
        return parse(file, MappedFile.map(file));
    }

    static SafeTensors parse(Path file, MemorySegment whole) {
        long size = whole.byteSize();
        if (size < 8) throw new FormatException(file, "truncated: " + size + " bytes, a safetensors file starts with an 8-byte header length");
        long headerLen = whole.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) throw new FormatException(file, "header length " + headerLen + " is not plausible (2.." + MAX_HEADER_BYTES + ")");
        if (8 + headerLen > size) throw new FormatException(file, "truncated: header claims " + headerLen + " bytes but the file has " + size);
        byte[] headerBytes = whole.asSlice(8, headerLen).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        JsonNode header;
        try {
            header = Json.MAPPER.readTree(new String(headerBytes, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new FormatException(file, "header is not valid JSON: " + Json.oneLine(e.getOriginalMessage()));
        }
        if (header == null || !header.isObject()) throw new FormatException(file, "header is not a JSON object");
        long dataStart = 8 + headerLen;
        long dataSize = size - dataStart;
        MemorySegment data = whole.asSlice(dataStart, dataSize);
        Map<String, TensorEntry> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        List<long[]> ranges = new ArrayList<>();
        List<String> rangeNames = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String name = field.getKey();
            JsonNode v = field.getValue();
            if (name.equals("__metadata__")) {
                if (v.isObject()) v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            DType dtype = dtypeOf(file, name, v.path("dtype").asText(""));
            JsonNode shapeNode = v.path("shape");
            JsonNode offs = v.path("data_offsets");
            if (!shapeNode.isArray() || !offs.isArray() || offs.size() != 2) throw new FormatException(file, "tensor " + name + " lacks shape or data_offsets");
            long[] shape = new long[shapeNode.size()];
            long elements = 1;
            for (int i = 0; i < shape.length; i++) {
                JsonNode d = shapeNode.get(i);
                if (!d.canConvertToLong() || d.asLong() < 0 || d.asLong() > Integer.MAX_VALUE) throw new FormatException(file, "tensor " + name + " has an invalid dimension " + d);
                shape[i] = d.asLong();
                try {
                    elements = Math.multiplyExact(elements, shape[i]);
                } catch (ArithmeticException e) {
                    throw new FormatException(file, "tensor " + name + " shape overflows");
                }
            }
            long begin = offs.get(0).asLong(-1), end = offs.get(1).asLong(-1);
            if (begin < 0 || end < begin || end > dataSize) {
                throw new FormatException(file, "tensor " + name + " data_offsets [" + begin + ", " + end + "] lie outside the " + dataSize + " data bytes (truncated file?)");
            }
            // no dtype is smaller than a byte, so more elements than data bytes cannot fit (and would overflow the size)
            if (elements > dataSize) throw new FormatException(file, "tensor " + name + " has " + elements + " elements, more than the " + dataSize + " data bytes");
            long expected = dtype.byteSize(elements);
            if (expected != end - begin) throw new FormatException(file, "tensor " + name + " holds " + (end - begin) + " bytes but shape x dtype needs " + expected);
            ranges.add(new long[] {begin, end, ranges.size()});
            rangeNames.add(name);
            tensors.put(name, new TensorEntry(name, dtype, shape, data.asSlice(begin, end - begin), file));
        }
        // as the reference library: the tensors tile the data section exactly, without holes, overlaps or trailing bytes
        ranges.sort(Comparator.comparingLong(r -> r[0]));
        long expectedBegin = 0;
        for (long[] r : ranges) {
            String name = rangeNames.get((int) r[2]);
            if (r[0] < expectedBegin) throw new FormatException(file, "tensor " + name + " overlaps the tensor before it (data_offsets start " + r[0] + " < " + expectedBegin + ")");
            if (r[0] > expectedBegin) throw new FormatException(file, "hole of " + (r[0] - expectedBegin) + " bytes before tensor " + name + " in the data section");
            expectedBegin = r[1];
        }
        if (expectedBegin != dataSize) throw new FormatException(file, (dataSize - expectedBegin) + " trailing bytes after the last tensor");
        return new SafeTensors(file, tensors, metadata);
    }

    private static DType dtypeOf(Path file, String name, String s) {
        return switch (s) {
            case "F32" -> DType.F32;
            case "F16" -> DType.F16;
            case "BF16" -> DType.BF16;
            case "F64" -> DType.F64;
            case "I8" -> DType.I8;
            case "U8" -> DType.U8;
            case "I16" -> DType.I16;
            case "I32" -> DType.I32;
            case "I64" -> DType.I64;
            case "BOOL" -> DType.BOOL;
            default -> throw new FormatException(file, "tensor " + name + " has unknown dtype '" + s + "'");
        };
    }
}
