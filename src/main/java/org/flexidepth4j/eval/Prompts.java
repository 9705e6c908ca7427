package org.flexidepth4j.eval;

import java.util.Arrays;
import org.flexidepth4j.tokenizer.Tokenizer;

/** Context/continuation tokenisation as lm-eval-harness does it, with the model's BOS in front of the context. */
public final class Prompts {
    private Prompts() {
    }

    /** [context ids, continuation ids]. */
    public static int[][] encodePair(Tokenizer tok, String context, String continuation) {
        // lm-eval moves the context's trailing whitespace onto the continuation, then splits the joint encoding
        int spaces = context.length() - context.stripTrailing().length();
        if (spaces > 0) {
            continuation = context.substring(context.length() - spaces) + continuation;
            context = context.substring(0, context.length() - spaces);
        }
        int[] ctx = tok.encode(context);
        int[] whole = tok.encode(context + continuation);
        int[] cont = whole.length > ctx.length ? Arrays.copyOfRange(whole, ctx.length, whole.length) : tok.encode(continuation);
        return new int[][] {withBos(tok, ctx), cont};
    }

    /** BOS + ids; ids alone when the tokenizer has no BOS (then the first id can only be context, never scored). */
    public static int[] withBos(Tokenizer tok, int[] ids) {
        if (tok.bosId() < 0) return ids;
        int[] r = new int[ids.length + 1];
        r[0] = tok.bosId();
        System.arraycopy(ids, 0, r, 1, ids.length);
        return r;
    }
}
