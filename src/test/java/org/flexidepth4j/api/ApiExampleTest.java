package org.flexidepth4j.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringWriter;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.flexidepth4j.load.EmbeddedModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's Java API example, read from README.md, compiled with javac and run: it prints what the API generates. */
class ApiExampleTest {
    @TempDir
    Path tmp;

    @AfterEach
    void clearProperty() {
        System.clearProperty(EmbeddedModel.CACHE_PROPERTY);
    }

    static String readmeExample() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        String section = readme.substring(readme.indexOf("## Java API"));
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(section);
        assertThat(m.find()).as("a ```java block in README's Java API section").isTrue();
        return m.group(1);
    }

    @Test
    void readmeExampleCompilesAndRuns() throws Exception {
        String source = readmeExample();
        Path src = Files.writeString(tmp.resolve("Example.java"), source);
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        StringWriter diagnostics = new StringWriter();
        boolean compiled = javac.getTask(diagnostics, null, null,
                List.of("-d", classes.toString(), "-classpath", Path.of("target/classes").toString()), null,
                javac.getStandardFileManager(null, null, StandardCharsets.UTF_8).getJavaFileObjects(src)).call();
        assertThat(compiled).as(diagnostics.toString()).isTrue();

        System.setProperty(EmbeddedModel.CACHE_PROPERTY, tmp.resolve("cache").toString());
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()}, getClass().getClassLoader())) {
            Method main = loader.loadClass("Example").getMethod("main", String[].class);
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            main.invoke(null, (Object) new String[0]);
        } finally {
            System.setOut(stdout);
        }

        // The same calls made here must give what the example printed: the streamed story, then the chat reply.
        Engine engine = Engine.loadEmbedded();
        GenerationResult story = engine.generate("Once upon a time", GenerationOptions.builder().temperature(0.7).topK(40).topP(0.95)
                .minP(0.05).repetitionPenalty(1.1).seed(42).maxTokens(60).stop("\n\n").build());
        GenerationResult reply = engine.chat(List.of(ChatMessage.system("You tell short stories."), ChatMessage.user("Tell me about a cat.")),
                GenerationOptions.GREEDY.toBuilder().maxTokens(40).build());
        String out = captured.toString(StandardCharsets.UTF_8);
        assertThat(story.text()).isNotBlank();
        assertThat(out).startsWith(story.text() + System.lineSeparator() + "[" + story.stopReason() + " after " + story.ids().length + " tokens");
        assertThat(out).endsWith(reply.text() + System.lineSeparator());
        assertThat(story.meanLayersUsed()).as("the embedded model routes with its FlexiDepth plug-in").isLessThan(story.numLayers());
    }
}
