package org.flexidepth4j.model;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.flexidepth4j.tensor.Matrix;

/**
 * The mixture-of-experts FFN of one layer ({@link MoeConfig}), HF orientation: the router [experts, hidden] and per
 * expert its gate and up [ff, hidden] and down [hidden, ff] (views into a GGUF file's stacked 3-D tensors, or an HF
 * checkpoint's per-expert tensors). The shared expert's matrices and its router row are null when there is none.
 *
 * @param perToken experts each token runs ({@link MoeConfig#expertsPerToken}), for the bytes a token reads
 */
public record Experts(int perToken, Matrix router, Matrix[] gate, Matrix[] up, Matrix[] down,
                      float[] sharedRouter, Matrix sharedGate, Matrix sharedUp, Matrix sharedDown) {
    public int count() {
        return gate.length;
    }

    /** The same experts with every matrix replaced by {@code f(matrix)}. */
    public Experts map(UnaryOperator<Matrix> f) {
        return new Experts(perToken, f.apply(router), mapAll(gate, f), mapAll(up, f), mapAll(down, f), sharedRouter,
                sharedGate == null ? null : f.apply(sharedGate), sharedUp == null ? null : f.apply(sharedUp),
                sharedDown == null ? null : f.apply(sharedDown));
    }

    /** Every matrix: the router, each expert's gate, up and down, then the shared expert's. */
    public List<Matrix> matrices() {
        List<Matrix> out = new ArrayList<>();
        out.add(router);
        for (int e = 0; e < count(); e++) out.addAll(List.of(gate[e], up[e], down[e]));
        if (sharedGate != null) out.addAll(List.of(sharedGate, sharedUp, sharedDown));
        return out;
    }

    /** Bytes one token reads: the router, {@code perToken} experts and the shared expert. */
    public long bytesPerToken() {
        long expert = gate[0].byteSize() + up[0].byteSize() + down[0].byteSize();
        long shared = sharedGate == null ? 0 : sharedGate.byteSize() + sharedUp.byteSize() + sharedDown.byteSize() + 4L * sharedRouter.length;
        return router.byteSize() + perToken * expert + shared;
    }

    private static Matrix[] mapAll(Matrix[] m, UnaryOperator<Matrix> f) {
        Matrix[] out = new Matrix[m.length];
        for (int i = 0; i < m.length; i++) out[i] = f.apply(m[i]);
        return out;
    }
}
