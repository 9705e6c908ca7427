package org.flexidepth4j.train;

import java.util.List;

/**
 * AdamW (decoupled weight decay, bias-corrected moments) over the trainable tensors, updating their values in place.
 * Norm weights ({@link Param#decay()} false) get no decay. Moments are float32 and travel in checkpoints.
 */
public final class AdamW {
    private final List<Param> params;
    private final float beta1, beta2, eps, weightDecay;
    final float[][] m, v;
    long step;

    public AdamW(List<Param> params, float beta1, float beta2, float eps, float weightDecay) {
        this.params = List.copyOf(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        m = new float[params.size()][];
        v = new float[params.size()][];
        for (int i = 0; i < params.size(); i++) {
            m[i] = new float[params.get(i).size()];
            v[i] = new float[params.get(i).size()];
        }
    }

    public List<Param> params() {
        return params;
    }

    public long step() {
        return step;
    }

    public void zeroGrad() {
        for (Param p : params) java.util.Arrays.fill(p.grad(), 0f);
    }

    /** L2 norm of all gradients together. */
    public double gradNorm() {
        double s = 0;
        for (Param p : params) for (float g : p.grad()) s += (double) g * g;
        return Math.sqrt(s);
    }

    /** Scales all gradients so their joint norm is at most {@code maxNorm} (no-op when maxNorm <= 0); returns the norm before. */
    public double clipGradNorm(double maxNorm) {
        double norm = gradNorm();
        if (maxNorm > 0 && norm > maxNorm) {
            float scale = (float) (maxNorm / (norm + 1e-6));
            for (Param p : params) {
                float[] g = p.grad();
                for (int i = 0; i < g.length; i++) g[i] *= scale;
            }
        }
        return norm;
    }

    public void update(float lr) {
        step++;
        double c1 = 1 - Math.pow(beta1, step), c2 = 1 - Math.pow(beta2, step);
        for (int k = 0; k < params.size(); k++) {
            Param p = params.get(k);
            float[] w = p.value(), g = p.grad(), mk = m[k], vk = v[k];
            float decay = p.decay() ? lr * weightDecay : 0f;
            for (int i = 0; i < w.length; i++) {
                mk[i] = beta1 * mk[i] + (1 - beta1) * g[i];
                vk[i] = beta2 * vk[i] + (1 - beta2) * g[i] * g[i];
                double mHat = mk[i] / c1, vHat = vk[i] / c2;
                w[i] -= (float) (lr * mHat / (Math.sqrt(vHat) + eps)) + decay * w[i];
            }
        }
    }

    /** Learning rate at {@code step} (0-based): linear warmup to {@code peak}, then cosine decay to peak × minRatio. */
    public static float cosineSchedule(int step, int totalSteps, int warmup, float peak, float minRatio) {
        if (step < warmup) return peak * (step + 1) / warmup;
        double progress = totalSteps <= warmup ? 1 : (double) (step - warmup) / Math.max(1, totalSteps - warmup - 1);
        double cosine = 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
        return (float) (peak * (minRatio + (1 - minRatio) * cosine));
    }
}
