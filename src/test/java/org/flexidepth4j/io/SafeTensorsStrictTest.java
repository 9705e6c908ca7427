package org.flexidepth4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Safetensors files are refused as the reference library refuses them: duplicate names, holes, trailing bytes. */
class SafeTensorsStrictTest {
    @TempDir
    Path tmp;

    private Path file(String header, int dataBytes) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.write(h);
        out.write(new byte[dataBytes]);
        return Files.write(tmp.resolve("t.safetensors"), out.toByteArray());
    }

    @Test
    void exactTilingLoads() throws Exception {
        SafeTensors st = SafeTensors.open(file("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                + " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}", 12));
        assertThat(st.tensors()).containsOnlyKeys("a", "b");
    }

    @Test
    void duplicateNameIsRefused() throws Exception {
        // Jackson would otherwise keep the second entry and silently replace the first tensor's weights
        Path f = file("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                + " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8);
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(FormatException.class).hasMessageContaining("t.safetensors").hasMessageContaining("Duplicate field 'a'");
    }

    @Test
    void holeBetweenTensorsIsRefused() throws Exception {
        Path f = file("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                + " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}", 12);
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(FormatException.class).hasMessageContaining("hole of 4 bytes before tensor b");
    }

    @Test
    void holeBeforeTheFirstTensorIsRefused() throws Exception {
        Path f = file("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8);
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(FormatException.class).hasMessageContaining("hole of 4 bytes before tensor a");
    }

    @Test
    void trailingBytesAreRefused() throws Exception {
        Path f = file("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 7);
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(FormatException.class).hasMessageContaining("3 trailing bytes after the last tensor");
    }

    @Test
    void overlapIsRefused() throws Exception {
        Path f = file("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                + " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8);
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(FormatException.class).hasMessageContaining("overlaps");
    }
}
