package org.flexidepth4j.model;

/**
 * Shape and arithmetic settings of a Llama-family decoder (llama, mistral, qwen2, qwen3). Weight files of every
 * format are described by one of these; {@code load.HfConfig} maps HF config.json keys onto it.
 *
 * @param attentionBias q/k/v projections have biases (qwen2)
 * @param qkNorm        RMSNorm of queries and keys before RoPE: per head (qwen3, gemma3), or over the whole projection
 *                      (olmoe, whose norm weights span it)
 * @param variant       what departs from the Llama layer (Gemma, sliding windows); set through {@link #withVariant}
 * @param moe           the mixture-of-experts FFN every layer has instead of a dense one; null for a dense model; set
 *                      through {@link #withMoe}
 */
public record ModelConfig(String architecture, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                          int numKvHeads, int headDim, int vocabSize, int maxPositions, float rmsNormEps,
                          RopeConfig rope, boolean tiedEmbeddings, boolean attentionBias, boolean qkNorm,
                          DecoderVariant variant, MoeConfig moe) {
    /** Most positions a config may ask for: the RoPE tables are built for all of them at load. */
    public static final int MAX_POSITIONS = 1 << 20;

    public ModelConfig(String architecture, int hiddenSize, int intermediateSize, int numLayers, int numHeads, int numKvHeads, int headDim,
                       int vocabSize, int maxPositions, float rmsNormEps, RopeConfig rope, boolean tiedEmbeddings, boolean attentionBias, boolean qkNorm) {
        this(architecture, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, vocabSize, maxPositions, rmsNormEps, rope,
                tiedEmbeddings, attentionBias, qkNorm, DecoderVariant.LLAMA, null);
    }

    public ModelConfig {
        if (variant == null) throw new IllegalArgumentException("no decoder variant");
        if (hiddenSize <= 0 || intermediateSize <= 0 || numLayers <= 0 || numHeads <= 0 || numKvHeads <= 0 || headDim <= 0 || vocabSize <= 0) {
            throw new IllegalArgumentException("sizes must be positive");
        }
        if (numHeads % numKvHeads != 0) throw new IllegalArgumentException("num_attention_heads " + numHeads + " is not a multiple of num_key_value_heads " + numKvHeads);
        if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim " + headDim + " must be even for RoPE");
        if (maxPositions <= 0 || maxPositions > MAX_POSITIONS) {
            throw new IllegalArgumentException("max_position_embeddings " + maxPositions + " is outside 1.." + MAX_POSITIONS);
        }
        if (!(rmsNormEps > 0) || Float.isInfinite(rmsNormEps)) throw new IllegalArgumentException("rms_norm_eps must be a finite number > 0 (as float32), got " + rmsNormEps);
        try {
            Math.multiplyExact(Math.max(numHeads, numKvHeads), headDim);
            Math.multiplyExact(maxPositions, headDim / 2);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("num_attention_heads " + numHeads + " x head_dim " + headDim + " or max_position_embeddings " + maxPositions + " is too large");
        }
    }

    public ModelConfig withVariant(DecoderVariant v) {
        return new ModelConfig(architecture, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, vocabSize, maxPositions,
                rmsNormEps, rope, tiedEmbeddings, attentionBias, qkNorm, v, moe);
    }

    /** The same model with the mixture-of-experts FFN {@code v} (null: dense). */
    public ModelConfig withMoe(MoeConfig v) {
        return new ModelConfig(architecture, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, vocabSize, maxPositions,
                rmsNormEps, rope, tiedEmbeddings, attentionBias, qkNorm, variant, v);
    }

    /** Whether HF files store this architecture's RMSNorm weights as w applied as 1 + w (Gemma): the loader adds the 1. */
    public boolean unitOffsetNorms() {
        return architecture.startsWith("gemma");
    }

    /** The RoPE of layer {@code layer}: the sliding layers' own when the variant gives one. */
    public RopeConfig rope(int layer) {
        return variant.slidingRope() != null && variant.slides(layer) ? variant.slidingRope() : rope;
    }

    /** The widest FFN activation of one token: the dense FFN's, or the widest expert's. */
    public int feedForwardWidth() {
        return moe == null ? intermediateSize : moe.widestIntermediate();
    }

    public int queryDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** Parameters of the decoder (embeddings counted once when tied). */
    public long parameterCount() {
        long d = hiddenSize;
        long ffn = moe == null ? 3 * d * intermediateSize
                : d * moe.experts() + 3 * d * ((long) moe.experts() * moe.expertIntermediateSize() + moe.sharedIntermediateSize());
        long perLayer = d * queryDim() + 2 * d * kvDim() + (long) queryDim() * d + ffn + 2 * d;
        long embed = (long) vocabSize * d;
        return numLayers * perLayer + embed * (tiedEmbeddings ? 1 : 2) + d;
    }
}
