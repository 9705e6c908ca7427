package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** docs/CLI.md names every command and every option of each. */
class CliDocsTest {
    @Test
    void everyCommandAndOptionIsDocumented() throws Exception {
        String doc = Files.readString(Path.of("docs/CLI.md"));
        List<String> missing = new ArrayList<>();
        for (Class<?> c : Main.COMMANDS) {
            CommandLine cl = new CommandLine(c);
            String name = cl.getCommandName();
            if (!doc.contains(name + " ")) missing.add(name);
            for (OptionSpec o : cl.getCommandSpec().options()) {
                if (!doc.contains(o.longestName())) missing.add(name + " " + o.longestName());
            }
        }
        assertThat(missing).as("missing from docs/CLI.md").isEmpty();
    }
}
