package org.flexidepth4j.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.flexidepth4j.io.FormatException;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.tokenizer.ChatTemplate;
import org.flexidepth4j.tokenizer.Tokenizer;
import org.flexidepth4j.tokenizer.Tokenizers;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "chat-template", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Render a chat template with the variables of a JSON file, exactly as HF transformers' apply_chat_template does.")
public final class ChatTemplateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    static final class Source {
        @Option(names = "--model", paramLabel = "PATH", description = "model or tokenizer (HF directory, .gguf) whose chat template and BOS/EOS to use")
        Path model;

        @Option(names = "--template", paramLabel = "FILE", description = "a Jinja chat template file")
        Path template;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--input", required = true, paramLabel = "FILE.json",
            description = "a JSON object whose every key is a template variable: messages, tools, add_generation_prompt, bos_token, ...")
    Path input;

    @Option(names = "--json", description = "print one line {\"prompt\": \"...\"} instead of the prompt itself")
    boolean json;

    @Override
    public Integer call() throws JsonProcessingException {
        Map<String, Object> variables = variables(input);
        String rendered;
        if (source.model != null) {
            Tokenizer tokenizer = Tokenizers.load(source.model);
            if (tokenizer.chatTemplate() == null) throw new FormatException(source.model, "the tokenizer has no chat template");
            rendered = render(source.model, tokenizer.chatTemplate(), variables, tokenizer);
        } else {
            rendered = render(source.template, TextFiles.read(source.template), variables, null);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) out.println(Json.MAPPER.writeValueAsString(Map.of("prompt", rendered)));
        else out.print(rendered);
        out.flush();
        return 0;
    }

    /** The input file's object, its keys the template's variables. */
    static Map<String, Object> variables(Path file) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(TextFiles.read(file));
        } catch (JsonProcessingException e) {
            throw new FormatException(file, "bad JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new FormatException(file, "expected a JSON object of template variables, got " + (root == null ? "nothing" : root.getNodeType().name().toLowerCase(Locale.ROOT)));
        }
        return Json.MAPPER.convertValue(root, new TypeReference<>() {
        });
    }

    /** Renders, naming the template's file in any error (bos/eos from the tokenizer when given and not in the variables). */
    private static String render(Path file, String template, Map<String, Object> variables, Tokenizer tokenizer) {
        try {
            ChatTemplate compiled = ChatTemplate.compile(template);
            return tokenizer != null ? compiled.render(variables, tokenizer) : compiled.render(variables);
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, e.getMessage());
        }
    }
}
