package org.flexidepth4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import org.flexidepth4j.io.AtomicFiles;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.io.Terminal;

/**
 * What a training loop reports per step, for the plug-in trainer and the pretrainer alike: one line of
 * {@code metrics.jsonl} (appended and flushed, so a kill loses at most the step in flight) and, optionally, a
 * progress bar on stderr. A run starting at step s keeps only the lines of steps 1..s already in the file: none for
 * a fresh run; for a resumed one, those up to its checkpoint (a killed run may have logged steps after it, and cut
 * its last line short).
 */
final class TrainingLog implements AutoCloseable {
    private final Writer metrics;
    private final ProgressBar bar;

    private TrainingLog(Writer metrics, ProgressBar bar) {
        this.metrics = metrics;
        this.bar = bar;
    }

    static TrainingLog open(Path file, int startStep, String task, int steps, boolean progress) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            if (Files.exists(file)) keepLinesUpTo(file, startStep);
        } catch (IOException e) {
            throw new FormatException(file, "cannot prepare the metrics file: " + e.getMessage());
        }
        Writer w;
        try {
            w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new FormatException(file, "cannot write: " + e.getMessage());
        }
        ProgressBar bar = null;
        if (progress && Terminal.isTerminal(Terminal.STDERR)) {
            bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(steps).setUpdateIntervalMillis(500).continuousUpdate().build();
            bar.stepTo(startStep);
        }
        return new TrainingLog(w, bar);
    }

    /** Logs the line of a finished step ({@code line.step} = steps done) and moves the bar there with a short message. */
    void step(ObjectNode line, String message) {
        try {
            metrics.write(line.toString());
            metrics.write('\n');
            metrics.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (bar != null) {
            bar.stepTo(line.get("step").asInt());
            bar.setExtraMessage(message);
        }
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
        try {
            metrics.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void keepLinesUpTo(Path metrics, int step) throws IOException {
        List<String> keep = new ArrayList<>();
        for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            try {
                if (Json.MAPPER.readTree(line).path("step").asInt(Integer.MAX_VALUE) <= step) keep.add(line);
            } catch (IOException e) {
                // a line cut short by the kill: drop it
            }
        }
        AtomicFiles.writeString(metrics, keep.isEmpty() ? "" : String.join("\n", keep) + "\n");
    }
}
