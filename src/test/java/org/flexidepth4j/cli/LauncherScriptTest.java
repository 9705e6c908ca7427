package org.flexidepth4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/flexidepth says when it builds (and roughly how long that takes), and stays quiet when the jar is fresh; a
 * start-up cache it cannot make (this jar is empty) is tried once per jar, not on every run.
 */
class LauncherScriptTest {
    @TempDir
    Path root;

    String run() throws Exception {
        Process p = new ProcessBuilder("bash", root.resolve("bin/flexidepth").toString(), "--version").redirectErrorStream(false).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void firstRunSaysItIsBuildingAndHowLong() throws Exception {
        Files.createDirectories(root.resolve("bin"));
        Files.copy(Path.of("bin/flexidepth"), root.resolve("bin/flexidepth"));
        Files.copy(Path.of("bin/find-jdk"), root.resolve("bin/find-jdk"));
        Files.createDirectories(root.resolve("src/main"));
        Files.writeString(root.resolve("pom.xml"), "<project/>");
        // A stand-in for the Maven wrapper: it only makes the jar (empty, so java then refuses it).
        Path mvnw = Files.writeString(root.resolve("mvnw"), "#!/usr/bin/env bash\nmkdir -p target && : > target/flexidepth4j.jar && echo built >> built.log\n");
        Files.setPosixFilePermissions(mvnw, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setLastModifiedTime(root.resolve("pom.xml"), FileTime.fromMillis(System.currentTimeMillis() - 60_000));
        Files.setLastModifiedTime(root.resolve("src/main"), FileTime.fromMillis(System.currentTimeMillis() - 60_000));

        String first = run();
        assertThat(first.lines().findFirst()).hasValueSatisfying(l -> assertThat(l)
                .startsWith("flexidepth: first run: building target/flexidepth4j.jar (1-3 minutes"));
        assertThat(Files.readAllLines(root.resolve("built.log"))).hasSize(1);

        assertThat(first).contains("making the start-up cache");
        assertThat(root.resolve("target/flexidepth4j.aot")).doesNotExist();

        String second = run();
        assertThat(second).doesNotContain("building").doesNotContain("start-up cache");
        assertThat(Files.readAllLines(root.resolve("built.log"))).hasSize(1);
    }
}
