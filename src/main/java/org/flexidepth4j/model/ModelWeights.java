package org.flexidepth4j.model;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.flexidepth4j.tensor.DType;
import org.flexidepth4j.tensor.Matrix;

/** All weights of a decoder, shaped as in HF checkpoints ({@code load} maps every format onto them). */
public record ModelWeights(Matrix embedding, LayerWeights[] layers, float[] finalNorm, Matrix lmHead) {

    /** The matrices a decoded token reads whole: the LM head and every layer's projections (not the embedding). */
    private List<Matrix> readPerToken() {
        List<Matrix> matrices = new ArrayList<>(1 + 7 * layers.length);
        matrices.add(lmHead);
        for (LayerWeights l : layers) {
            matrices.addAll(List.of(l.wq(), l.wk(), l.wv(), l.wo()));
            matrices.addAll(l.feedForwardMatrices());
        }
        return matrices;
    }

    /**
     * Total bytes of the weights read once per decoded token (embedding row excluded); a mixture-of-experts layer
     * counts its router, the shared expert and the experts one token runs.
     */
    public long bytesPerToken() {
        long sum = lmHead.byteSize();
        for (LayerWeights l : layers) {
            for (Matrix m : List.of(l.wq(), l.wk(), l.wv(), l.wo())) sum += m.byteSize();
            if (l.experts() != null) sum += l.experts().bytesPerToken();
            else for (Matrix m : l.feedForwardMatrices()) sum += m.byteSize();
        }
        return sum;
    }

    /**
     * The dtypes of the weights read per token, the largest share of bytes first, joined by "+": "BF16" for most
     * models, "Q4_K+Q6_K" for a llama.cpp Q4_K_M file.
     */
    public String dtypeMix() {
        Map<DType, Long> bytes = new EnumMap<>(DType.class);
        for (Matrix m : readPerToken()) bytes.merge(m.dtype(), m.byteSize(), Long::sum);
        return bytes.entrySet().stream().sorted(Map.Entry.<DType, Long>comparingByValue().reversed())
                .map(e -> e.getKey().name()).collect(Collectors.joining("+"));
    }
}
