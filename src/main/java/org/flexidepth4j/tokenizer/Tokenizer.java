package org.flexidepth4j.tokenizer;

/**
 * Text to token ids and back, exactly as the model's own tokenizer does it. Implementations: HF tokenizer.json
 * (byte-level BPE and SentencePiece-style BPE with byte fallback), llama2.c tokenizer.bin, GGUF vocabularies.
 */
public interface Tokenizer {
    int vocabSize();

    /** Ids of {@code text} with no BOS/EOS added; special-token strings in the text map to their ids. */
    int[] encode(String text);

    /** Ids with BOS/EOS added as the tokenizer's configuration says (HF post-processor, add_bos_token, ...). */
    int[] encodeWithSpecial(String text);

    /** Text of a whole id sequence (special tokens rendered as their text). */
    String decode(int[] ids);

    /** The vocabulary entry of one id, as stored (for display and traces). */
    String tokenText(int id);

    /** BOS id, or -1 when the tokenizer has none. */
    int bosId();

    /** Ids that end generation. */
    int[] eosIds();

    /** Whether {@code id} is a special/control token (not plain text). */
    boolean isSpecial(int id);

    /** A decoder for streaming: emits only complete UTF-8 characters, holding back partial byte sequences. */
    StreamDecoder streamDecoder();

    /** Jinja chat template from the tokenizer config, or null. */
    default String chatTemplate() {
        return null;
    }

    interface StreamDecoder {
        /** Text that became complete with {@code id} (possibly empty). */
        String next(int id);

        /** Whatever is still held back, rendered with replacement characters. */
        String flush();
    }
}
