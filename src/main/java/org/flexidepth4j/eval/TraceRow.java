package org.flexidepth4j.eval;

/**
 * One token of a layer-allocation trace.
 *
 * @param token      the vocabulary entry as stored
 * @param text       the text this token completed when decoded in sequence (empty for a partial UTF-8 byte)
 * @param generated  whether the model generated it (else it was read from the input)
 * @param gates      gate per layer (-1 where the layer is not routed)
 * @param ran        whether the token ran each layer
 * @param category   {@link TraceSummary#category}
 * @param repeated   whether it continues an n-gram seen earlier in the document
 */
public record TraceRow(int doc, int pos, int id, String token, String text, boolean generated, float[] gates, boolean[] ran,
                       int layersUsed, String category, boolean repeated) {
}
