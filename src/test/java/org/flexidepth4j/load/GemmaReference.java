package org.flexidepth4j.load;

import java.util.Map;

/**
 * Gemma 2 / Gemma 3 logits in double precision, written from HF transformers' modeling code rather than from our
 * decoder: one position at a time, every score and sum spelled out, over the HF-named tensors of {@link
 * GemmaCheckpoints} (norm weights w applied as 1 + w).
 */
final class GemmaReference {
    private final GemmaCheckpoints.Shape s;
    private final Map<String, float[]> t;
    private final int vocab;

    GemmaReference(GemmaCheckpoints.Shape shape, Map<String, float[]> tensors, int vocab) {
        this.s = shape;
        this.t = tensors;
        this.vocab = vocab;
    }

    /** Logits [ids.length][vocab] of every position. */
    double[][] logits(int[] ids) {
        int n = ids.length, d = s.hidden(), hd = s.headDim(), qd = s.heads() * hd, kvd = s.kvHeads() * hd;
        double[][] x = new double[n][d];
        float[] embed = t.get("model.embed_tokens.weight");
        for (int p = 0; p < n; p++) for (int i = 0; i < d; i++) x[p][i] = embed[ids[p] * d + i] * Math.sqrt(d);
        for (int l = 0; l < s.layers(); l++) {
            String pre = "model.layers." + l + ".";
            boolean sliding = s.gemma3() ? (l + 1) % 6 != 0 : l % 2 == 0;
            double theta = s.gemma3() && !sliding ? GemmaCheckpoints.GEMMA3_GLOBAL_THETA : GemmaCheckpoints.GEMMA3_LOCAL_THETA;
            double[][] q = new double[n][], k = new double[n][], v = new double[n][];
            for (int p = 0; p < n; p++) {
                double[] h = norm(x[p], t.get(pre + "input_layernorm.weight"));
                q[p] = heads(matvec(t.get(pre + "self_attn.q_proj.weight"), h, qd), pre + "self_attn.q_norm.weight", p, theta);
                k[p] = heads(matvec(t.get(pre + "self_attn.k_proj.weight"), h, kvd), pre + "self_attn.k_norm.weight", p, theta);
                v[p] = matvec(t.get(pre + "self_attn.v_proj.weight"), h, kvd);
            }
            for (int p = 0; p < n; p++) {
                double[] att = new double[qd];
                for (int head = 0; head < s.heads(); head++) {
                    int g = head / (s.heads() / s.kvHeads());
                    double[] score = new double[p + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= p; j++) {
                        double dot = 0;
                        for (int i = 0; i < hd; i++) dot += q[p][head * hd + i] * k[j][g * hd + i];
                        score[j] = dot / Math.sqrt(hd);
                        if (s.attentionCap() > 0) score[j] = s.attentionCap() * Math.tanh(score[j] / s.attentionCap());
                        if (sliding && p - j >= s.window()) score[j] = Double.NEGATIVE_INFINITY;
                        max = Math.max(max, score[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= p; j++) sum += Math.exp(score[j] - max);
                    for (int j = 0; j <= p; j++) {
                        double w = Math.exp(score[j] - max) / sum;
                        for (int i = 0; i < hd; i++) att[head * hd + i] += w * v[j][g * hd + i];
                    }
                }
                double[] o = norm(matvec(t.get(pre + "self_attn.o_proj.weight"), att, d), t.get(pre + "post_attention_layernorm.weight"));
                for (int i = 0; i < d; i++) x[p][i] += o[i];
                double[] f = norm(x[p], t.get(pre + "pre_feedforward_layernorm.weight"));
                double[] gate = matvec(t.get(pre + "mlp.gate_proj.weight"), f, s.ff()), up = matvec(t.get(pre + "mlp.up_proj.weight"), f, s.ff());
                for (int i = 0; i < s.ff(); i++) {
                    double a = gate[i];
                    gate[i] = 0.5 * a * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (a + 0.044715 * a * a * a))) * up[i];
                }
                double[] m = norm(matvec(t.get(pre + "mlp.down_proj.weight"), gate, d), t.get(pre + "post_feedforward_layernorm.weight"));
                for (int i = 0; i < d; i++) x[p][i] += m[i];
            }
        }
        double[][] logits = new double[n][];
        for (int p = 0; p < n; p++) {
            logits[p] = matvec(embed, norm(x[p], t.get("model.norm.weight")), vocab);
            if (s.finalCap() > 0) for (int j = 0; j < vocab; j++) logits[p][j] = s.finalCap() * Math.tanh(logits[p][j] / s.finalCap());
        }
        return logits;
    }

    /** Gemma's RMSNorm: x / rms(x) · (1 + w), eps 1e-6. */
    private static double[] norm(double[] x, float[] w) {
        return norm(x, 0, x.length, w);
    }

    private static double[] norm(double[] x, int off, int n, float[] w) {
        double ss = 0;
        for (int i = 0; i < n; i++) ss += x[off + i] * x[off + i];
        double r = 1 / Math.sqrt(ss / n + 1e-6);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = x[off + i] * r * (1 + w[i]);
        return out;
    }

    /** Gemma 3's per-head q/k norm, then rotate-half RoPE at position p with base theta. */
    private double[] heads(double[] x, String normName, int p, double theta) {
        int hd = s.headDim(), half = hd / 2;
        for (int off = 0; off < x.length; off += hd) {
            if (s.gemma3()) System.arraycopy(norm(x, off, hd, t.get(normName)), 0, x, off, hd);
            for (int i = 0; i < half; i++) {
                double angle = p * Math.pow(theta, -2.0 * i / hd), a = x[off + i], b = x[off + i + half];
                x[off + i] = a * Math.cos(angle) - b * Math.sin(angle);
                x[off + i + half] = b * Math.cos(angle) + a * Math.sin(angle);
            }
        }
        return x;
    }

    private static double[] matvec(float[] w, double[] x, int rows) {
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            for (int i = 0; i < x.length; i++) sum += w[r * x.length + i] * x[i];
            out[r] = sum;
        }
        return out;
    }
}
