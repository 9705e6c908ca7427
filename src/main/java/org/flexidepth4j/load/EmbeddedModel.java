package org.flexidepth4j.load;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.zip.CRC32;
import org.flexidepth4j.io.AtomicFiles;

/**
 * The model that ships inside the jar (tinylm-12l). Weights are memory-mapped, which needs a real file, so the
 * resources are extracted once into a cache directory named after their checksums: into a temp directory first,
 * then renamed into place, so a concurrent or interrupted run never sees a half-written model.
 */
public final class EmbeddedModel {
    public static final String NAME = "tinylm-12l";
    static final List<String> FILES = List.of("config.json", "model.safetensors", "flexidepth.safetensors", "model.safetensors.index.json",
            "tokenizer.json", "tokenizer_config.json", "generation_config.json");
    /** System property that overrides the cache root (tests); else $XDG_CACHE_HOME/flexidepth4j or ~/.cache/flexidepth4j. */
    public static final String CACHE_PROPERTY = "flexidepth4j.cache";

    private EmbeddedModel() {
    }

    /** The directory holding the extracted model, extracting it first if needed. */
    public static Path directory() {
        Path root = cacheRoot();
        Path dir = root.resolve(NAME + "-" + Long.toHexString(checksum()));
        if (Files.isRegularFile(dir.resolve(FILES.getLast()))) return dir;
        try {
            Files.createDirectories(root);
            Path tmp = Files.createTempDirectory(root, "." + NAME + "-");
            try {
                for (String f : FILES) {
                    try (InputStream in = open(f)) {
                        Files.copy(in, tmp.resolve(f));
                    }
                }
                try {
                    Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException | DirectoryNotEmptyException | AtomicMoveNotSupportedException e) {
                    if (!Files.isRegularFile(dir.resolve(FILES.getLast()))) throw e; // another process won the race: use its copy
                }
            } finally {
                AtomicFiles.deleteTree(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the embedded model into " + root + ": " + e.getMessage(), e);
        }
        return dir;
    }

    static Path cacheRoot() {
        String override = System.getProperty(CACHE_PROPERTY);
        if (override != null) return Path.of(override);
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("flexidepth4j");
    }

    /** CRC32 of the resources: from the jar's directory when running from a jar (free), else by reading them. */
    private static long checksum() {
        long h = 0;
        for (String f : FILES) {
            h = h * 31 + crc(f);
        }
        return h & 0xffffffffffffL;
    }

    private static long crc(String file) {
        URL url = resource(file);
        try {
            URLConnection c = url.openConnection();
            if (c instanceof JarURLConnection jar && jar.getJarEntry().getCrc() != -1) return jar.getJarEntry().getCrc();
            CRC32 crc = new CRC32();
            try (InputStream in = url.openStream()) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) crc.update(buf, 0, n);
            }
            return crc.getValue();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the embedded model: " + e.getMessage(), e);
        }
    }

    private static URL resource(String file) {
        URL url = EmbeddedModel.class.getResource("/models/" + NAME + "/" + file);
        if (url == null) throw new IllegalStateException("the embedded model is missing from this build (/models/" + NAME + "/" + file + ")");
        return url;
    }

    private static InputStream open(String file) throws IOException {
        return resource(file).openStream();
    }
}
