package org.flexidepth4j.serve;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.flexidepth4j.model.InferenceState;
import org.flexidepth4j.model.Sampler;
import org.flexidepth4j.model.SkipPolicy;
import org.flexidepth4j.tokenizer.TextAssembler;
import org.flexidepth4j.tokenizer.Tokenizer;

/**
 * One request's generation as the {@link Scheduler} runs it: its prompt, sampler, skip policy and stop rules, the
 * KV-cache slot it holds while active, and the events its HTTP handler reads ({@link #next}). Everything but
 * {@link #cancel} and the event queue belongs to the scheduler thread.
 */
public final class Sequence {
    /** What the handler receives: text (possibly empty) with the layers used by each token since the last chunk, then the end. */
    public sealed interface Event permits Chunk, Done {
    }

    public record Chunk(String text, int[] layersUsed) implements Event {
    }

    /**
     * @param finishReason "stop" (EOS or a stop string), "length" (max tokens or the context) or "cancelled"
     * @param layersUsed   layers run for each generated token
     */
    public record Done(String finishReason, int promptTokens, int completionTokens, int[] layersUsed, String text) implements Event {
        public double meanLayersUsed() {
            return layersUsed.length == 0 ? 0 : Arrays.stream(layersUsed).average().orElse(0);
        }
    }

    final int[] prompt;
    final int maxTokens;
    final Sampler sampler;
    final SkipPolicy policy;
    final int[] eosIds;
    private final TextAssembler text;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    /** Layers used by each generated token; those from {@link #reported} on are not yet in a chunk. */
    private final int[] layersUsed;
    private int reported;
    private volatile boolean cancelled;

    /** Prompt and generated ids, for the sampler's repetition penalty. */
    final int[] history;
    int generated;
    int prefilled;
    /** The token to feed at the next decode step, or -1 while prefilling. */
    int nextInput = -1;
    int slot = -1;
    InferenceState state;

    Sequence(int[] prompt, int maxTokens, Sampler sampler, SkipPolicy policy, int[] eosIds, Tokenizer tokenizer, List<String> stops) {
        this.prompt = prompt;
        this.maxTokens = maxTokens;
        this.sampler = sampler;
        this.policy = policy;
        this.eosIds = eosIds;
        this.history = Arrays.copyOf(prompt, prompt.length + maxTokens);
        this.layersUsed = new int[maxTokens];
        this.text = new TextAssembler(tokenizer, stops);
    }

    /** Asks the scheduler to drop this sequence (client gone, deadline passed); it ends with "cancelled". */
    public void cancel() {
        cancelled = true;
    }

    public boolean cancelled() {
        return cancelled;
    }

    public int promptTokens() {
        return prompt.length;
    }

    /** The next event, waiting at most {@code nanos}; null on timeout. */
    public Event next(long nanos) throws InterruptedException {
        return events.poll(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    /**
     * Takes the token sampled from the logits of the forward that ran it with {@code layers} layers; returns the
     * finish reason when the sequence ends here, else null (the token is then the next decode input).
     */
    String accept(int id, int layers, boolean contextFull) {
        history[prompt.length + generated] = id;
        layersUsed[generated++] = layers;
        for (int eos : eosIds) if (eos == id) return "stop";
        boolean goesOn = text.accept(id);
        release();
        if (!goesOn) return "stop";
        if (generated == maxTokens || contextFull) return "length";
        nextInput = id;
        return null;
    }

    /** Emits what is left and the end; {@code reason} "cancelled" skips the held-back text. */
    void finish(String reason) {
        if (!reason.equals("cancelled")) {
            text.finish();
            release();
        }
        if (reported < generated) chunk("");
        events.add(new Done(reason, prompt.length, generated, Arrays.copyOf(layersUsed, generated), text.text()));
    }

    /** Emits the text that became final, with the layers of the tokens since the last chunk. */
    private void release() {
        String piece = text.release();
        if (!piece.isEmpty()) chunk(piece);
    }

    private void chunk(String piece) {
        events.add(new Chunk(piece, Arrays.copyOfRange(layersUsed, reported, generated)));
        reported = generated;
    }
}
