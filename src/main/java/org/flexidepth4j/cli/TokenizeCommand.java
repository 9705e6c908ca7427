package org.flexidepth4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.flexidepth4j.io.Json;
import org.flexidepth4j.load.EmbeddedModel;
import org.flexidepth4j.tokenizer.Tokenizer;
import org.flexidepth4j.tokenizer.Tokenizers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "tokenize", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Token ids of a text, as the model's tokenizer encodes it.")
public final class TokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "PATH",
            description = "model or tokenizer: HF directory (tokenizer files suffice), .gguf (vocabulary suffices) (default: the embedded " + EmbeddedModel.NAME + ")")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "PATH", description = "tokenizer file, e.g. llama2.c tokenizer.bin (overrides --model)")
    Path tokenizer;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "text to encode")
    String text;

    @Option(names = "--special", description = "add BOS/EOS as the tokenizer's configuration says")
    boolean special;

    @Option(names = "--json", description = "print {\"ids\": [...]}")
    boolean json;

    @Override
    public Integer call() {
        Tokenizer tok = Tokenizers.load(tokenizer != null ? tokenizer : model != null ? model : EmbeddedModel.directory());
        int[] ids = special ? tok.encodeWithSpecial(text) : tok.encode(text);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            ArrayNode a = o.putArray("ids");
            for (int id : ids) a.add(id);
            out.println(o.toString());
        } else {
            for (int id : ids) out.println(id + "\t" + printable(tok.tokenText(id)));
        }
        return 0;
    }

    /** Token text with control characters escaped, so each token stays on its line. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                default -> {
                    if (c < 0x20 || c == 0x7f) b.append(String.format("\\x%02x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.toString();
    }
}
