package org.flexidepth4j.api;

import java.util.concurrent.atomic.AtomicBoolean;
import org.flexidepth4j.model.Generator;
import org.flexidepth4j.model.Model;
import org.flexidepth4j.model.Sampler;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.tokenizer.TextAssembler;

/**
 * One generation request: its own sequence state, sampler and text assembly over a shared {@link Engine}, so any
 * number of them may run at once on one loaded model. Run it once; {@link #cancel()} may be called from any thread.
 */
public final class Generation {
    private final Engine engine;
    private final int[] prompt;
    private final GenerationOptions options;
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean cancelled;

    Generation(Engine engine, int[] prompt, GenerationOptions options) {
        this.engine = engine;
        this.prompt = prompt.clone();
        this.options = options;
    }

    /** Stops the generation after the token being computed; its stop reason is then {@link StopReason#CANCELLED}. */
    public void cancel() {
        cancelled = true;
    }

    /** Prefills the prompt and generates, handing each token to {@code listener} as it is produced. */
    public GenerationResult run(TokenListener listener) {
        if (!started.compareAndSet(false, true)) throw new IllegalStateException("a generation runs once");
        Model model = engine.model();
        long seed = options.seed() != null ? options.seed() : System.nanoTime();
        Sampler sampler = new Sampler(options.samplerSettings(seed), model.config().vocabSize());
        SkipPolicy policy = engine.policy(options.skipMode(), options.skipSeed());
        TextAssembler text = new TextAssembler(model.tokenizer(), options.stops());
        Generator.Result r = Generator.generate(model.transformer(), policy, prompt, options.maxTokens(), engine.contextLength(), sampler,
                engine.eosIds(), (id, layersUsed) -> {
                    boolean more = text.accept(id);
                    listener.onToken(new Token(id, text.release(), layersUsed));
                    return more && !cancelled;
                });
        text.finish();
        String rest = text.release();
        if (!rest.isEmpty()) listener.onToken(new Token(Token.END, rest, r.layersUsed().length == 0 ? 0 : r.layersUsed()[r.layersUsed().length - 1]));
        StopReason reason = switch (r.stop()) {
            case EOS -> StopReason.EOS;
            case LISTENER -> text.stopped() ? StopReason.STOP : StopReason.CANCELLED;
            case MAX_TOKENS, CONTEXT -> StopReason.LENGTH;
        };
        return new GenerationResult(text.text(), r.ids(), r.layersUsed(), r.gates(), model.config().numLayers(), reason,
                new Timings(r.promptTokens(), r.prefillNanos(), r.decodeSteps(), r.decodeNanos()), seed);
    }
}
