package org.flexidepth4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import org.flexidepth4j.api.Engine;
import org.flexidepth4j.tokenizer.TextAssembler;
import org.flexidepth4j.api.Token;
import org.flexidepth4j.io.Terminal;
import org.flexidepth4j.model.Generator;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.skip.SkipModes;
import org.flexidepth4j.tokenizer.ChatTemplate;
import org.flexidepth4j.tokenizer.ChatTemplate.Message;
import org.flexidepth4j.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "chat", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Talk with a model: each turn goes through its chat template with the whole history, the reply streams as it is produced.",
                "Commands: /reset, /system TEXT, /skip MODE, /stats, /exit. Ctrl-C stops the current reply.",
                "When standard input is not a terminal, each line is one user turn and each reply is printed on its own line."})
public final class ChatCommand implements Callable<Integer> {
    static final String HELP = "commands: /reset (forget the conversation), /system TEXT (set the system message), /skip MODE, /stats, /exit";

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Mixin
    SamplingOptions sampling;

    @Option(names = "--system", paramLabel = "TEXT", description = "system message (default: none)")
    String system;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "512", description = "tokens of one reply at most (default: ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--show-layers", description = "colour each token by the number of layers it used")
    boolean showLayers;

    private final AtomicBoolean interrupted = new AtomicBoolean();
    private final AtomicBoolean generating = new AtomicBoolean();
    private final List<Message> history = new ArrayList<>();
    private Model model;
    private Tokenizer tokenizer;
    private ChatTemplate template;
    private SkipPolicy policy;
    private int[] eosIds;
    private int context;
    private PrintWriter out;
    private PrintWriter err;
    private Generator.Result last;
    private long replies, generatedTokens, decodeSteps, decodeNanos, layersUsedSum;

    @Override
    public Integer call() throws IOException {
        if (maxTokens < 1) throw new IllegalArgumentException("--max-tokens must be >= 1, got " + maxTokens);
        out = spec.commandLine().getOut();
        err = spec.commandLine().getErr();
        model = modelOptions.load();
        tokenizer = model.requireTokenizer();
        if (tokenizer.chatTemplate() == null) {
            throw new IllegalArgumentException(model.source() + ": the tokenizer has no chat template, so this model cannot chat (use generate)");
        }
        template = ChatTemplate.compile(tokenizer.chatTemplate());
        policy = modelOptions.policy(model);
        eosIds = Engine.of(model).eosIds();
        context = modelOptions.contextLength(model);
        boolean terminal = System.console() != null && System.console().isTerminal();
        if (terminal) {
            installCtrlC();
            err.println("chatting with " + model.source().getFileName() + " (" + context + "-token context); " + HELP);
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        while (true) {
            if (terminal) {
                out.print("> ");
                out.flush();
            }
            String line = in.readLine();
            if (line == null || line.strip().equals("/exit")) break;
            if (line.isBlank()) continue;
            if (line.startsWith("/")) command(line.strip());
            else reply(line);
        }
        out.flush();
        return 0;
    }

    private void command(String line) {
        int space = line.indexOf(' ');
        String name = space < 0 ? line : line.substring(0, space);
        String argument = space < 0 ? "" : line.substring(space + 1).strip();
        switch (name) {
            case "/reset" -> {
                history.clear();
                err.println("[conversation forgotten]");
            }
            case "/system" -> {
                system = argument.isEmpty() ? null : argument;
                err.println(system == null ? "[no system message]" : "[system message set]");
            }
            case "/skip" -> {
                try {
                    policy = SkipModes.parse(argument.isEmpty() ? "default" : argument, model, null, modelOptions.skipSeed);
                    err.println("[skip mode " + (argument.isEmpty() ? "default" : argument) + "]");
                } catch (IllegalArgumentException e) {
                    err.println("[" + e.getMessage() + "]");
                }
            }
            case "/stats" -> err.println(stats());
            default -> err.println("[unknown command " + name + "; " + HELP + "]");
        }
        err.flush();
    }

    private String stats() {
        if (last == null) return "[no reply yet]";
        int layers = model.config().numLayers();
        return String.format(Locale.ROOT, "[last reply: %d prompt tokens, %d generated, prefill %.1f tok/s, decode %.1f tok/s, mean layers used %.2f of %d;"
                        + " all %d replies: %d tokens, decode %.1f tok/s, mean layers used %.2f]",
                last.promptTokens(), last.ids().length, last.prefillTokensPerSecond(), last.decodeTokensPerSecond(), last.meanLayersUsed(), layers,
                replies, generatedTokens, decodeSteps / Math.max(1e-9, decodeNanos * 1e-9), (double) layersUsedSum / Math.max(1, generatedTokens));
    }

    private void print(Token token, boolean colour, int layers) {
        if (token.text().isEmpty()) return;
        out.print(colour ? GenerateCommand.coloured(token, layers) : token.text());
        out.flush();
    }

    /** Adds the user's turn, drops the oldest turns while the conversation does not fit, and streams the reply. */
    private void reply(String userText) {
        history.add(new Message("user", userText));
        int[] prompt = fittingPrompt();
        if (prompt == null) return;
        int layers = model.config().numLayers();
        TextAssembler text = new TextAssembler(tokenizer, List.of());
        boolean colour = showLayers && Terminal.colours(Terminal.STDOUT);
        interrupted.set(false);
        generating.set(true);
        Generator.Result r = Generator.generate(model.transformer(), policy, prompt, Math.min(maxTokens, context - prompt.length), context,
                sampling.sampler(sampling.seed(), model.config().vocabSize()), eosIds, (id, used) -> {
                    if (tokenizer.isSpecial(id) || interrupted.get()) return false;
                    boolean more = text.accept(id);
                    print(new Token(id, text.release(), used), colour, layers);
                    return more;
                });
        generating.set(false);
        text.finish();
        print(new Token(Token.END, text.release(), r.layersUsed().length == 0 ? layers : r.layersUsed()[r.layersUsed().length - 1]), colour, layers);
        out.println();
        out.flush();
        if (interrupted.getAndSet(false)) err.println("[reply stopped]");
        if (r.stop() == Generator.Stop.CONTEXT) err.println("[the reply reached the end of the " + context + "-token context]");
        if (showLayers && Terminal.colours(Terminal.STDERR)) err.println(LayerColors.legend(layers, r.meanLayersUsed()));
        err.flush();
        history.add(new Message("assistant", text.text().strip()));
        last = r;
        replies++;
        generatedTokens += r.ids().length;
        decodeSteps += r.decodeSteps();
        decodeNanos += r.decodeNanos();
        for (int u : r.layersUsed()) layersUsedSum += u;
    }

    /**
     * The prompt of the whole conversation with room for a reply; the oldest turns go first when it does not fit
     * (with a notice), and a user turn too long on its own is dropped.
     */
    private int[] fittingPrompt() {
        int room = Math.min(maxTokens, Math.max(1, context / 4));
        int dropped = 0;
        while (true) {
            List<Message> messages = new ArrayList<>();
            if (system != null) messages.add(new Message("system", system));
            messages.addAll(history);
            int[] ids;
            try {
                ids = tokenizer.encode(template.render(messages, true, tokenizer));
            } catch (IllegalArgumentException e) {
                history.removeLast();
                err.println("[" + e.getMessage() + "]");
                err.flush();
                return null;
            }
            if (ids.length + room <= context) {
                if (dropped > 0) {
                    err.println("[the conversation no longer fits the " + context + "-token context: dropped the oldest " + dropped + " message" + (dropped > 1 ? "s" : "") + "]");
                    err.flush();
                }
                return ids;
            }
            if (history.size() == 1) {
                history.clear();
                err.println("[that message is " + ids.length + " tokens with the template, too long for the " + context + "-token context with room for a reply; not sent]");
                err.flush();
                return null;
            }
            // drop the oldest turn: a user message and the replies after it, so the history still starts with the user
            history.removeFirst();
            dropped++;
            while (history.size() > 1 && !history.getFirst().role().equals("user")) {
                history.removeFirst();
                dropped++;
            }
        }
    }

    /** Ctrl-C on a terminal stops the reply being generated, not the program. */
    private void installCtrlC() {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("INT"), signal -> {
                if (generating.get()) {
                    interrupted.set(true);
                } else {
                    err.println();
                    err.println("[/exit or Ctrl-D ends the chat]");
                    err.flush();
                }
            });
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            err.println("[Ctrl-C cannot be caught here (" + e.getMessage() + "): it ends the program]");
        }
    }
}
