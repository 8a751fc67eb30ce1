package dev.letsbuildgpt.train;

import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.model.Backend;
import dev.letsbuildgpt.model.Gradients;
import dev.letsbuildgpt.model.Parameters;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The optimizer: Adam with decoupled weight decay, as {@code torch.optim.AdamW} computes it, on every parameter (the
 * lecture's numbers come from PyTorch's defaults, which decay every parameter, biases and gains included):
 *
 * <pre>
 *   g = scale * grad                     (scale: 1, or the gradient clipping factor)
 *   p = p - lr * weight_decay * p        the "W": decay pulls each weight towards 0, apart from the gradient
 *   m = beta1 m + (1 - beta1) g          v = beta2 v + (1 - beta2) g^2
 *   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 *
 * It owns its moment estimates m and v, laid out like the parameters' tensors, and steps every tensor in one loop.
 */
public final class AdamW {
    public static final double EPS = 1e-8;   // PyTorch's default
    private final Parameters params;
    private final double beta1;
    private final double beta2;
    private final double weightDecay;
    private final float[][] m;
    private final float[][] v;

    public AdamW(Parameters params, double beta1, double beta2, double weightDecay) {
        this.params = params;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.weightDecay = weightDecay;
        List<Parameters.Tensor> tensors = params.tensors();
        m = new float[tensors.size()][];
        v = new float[tensors.size()][];
        for (Parameters.Tensor t : tensors) {
            m[t.id] = new float[t.size()];
            v[t.id] = new float[t.size()];
        }
    }

    public AdamW(Parameters params, TrainConfig t) {
        this(params, t.beta1(), t.beta2(), t.weightDecay());
    }

    /**
     * One update of every parameter.
     *
     * @param step      the step counted from 0 (t = step + 1)
     * @param gradScale multiplies every gradient first (gradient clipping); 1 for none
     */
    public void step(Gradients grads, double lr, int step, double gradScale) {
        double bc1 = 1 - Math.pow(beta1, step + 1);
        double bc2 = Math.sqrt(1 - Math.pow(beta2, step + 1));
        float b1 = (float) beta1;
        float b2 = (float) beta2;
        float stepSize = (float) (lr / bc1);
        float invBc2 = (float) (1 / bc2);
        float eps = (float) EPS;
        float decay = (float) (1 - lr * weightDecay);
        float gs = (float) gradScale;
        List<Parameters.Tensor> tensors = params.tensors();
        float[][] g = new float[tensors.size()][];
        for (Parameters.Tensor t : tensors) {
            g[t.id] = grads.of(t);
        }
        // Each value on its own: every tensor split between the fast path's threads, the same bits however many (the
        // update streams 28 bytes a parameter through memory; on one thread it was 4-5 % of a cpu-preset step, while
        // the other core waited).
        int parts = Backend.threads();
        Backend.onThreads(parts, p -> {
            for (Parameters.Tensor t : tensors) {
                float[] w = t.data;
                float[] gt = g[t.id];
                float[] mt = m[t.id];
                float[] vt = v[t.id];
                int to = Backend.shareStart(w.length, p + 1, parts);
                for (int i = Backend.shareStart(w.length, p, parts); i < to; i++) {
                    float gi = gt[i] * gs;
                    mt[i] = b1 * mt[i] + (1 - b1) * gi;
                    vt[i] = b2 * vt[i] + (1 - b2) * gi * gi;
                    w[i] = w[i] * decay - stepSize * mt[i] / ((float) Math.sqrt(vt[i]) * invBc2 + eps);
                }
            }
        });
        params.changed();
    }

    /** The moments by parameter name, as checkpoints store them: {@code name.M} and {@code name.V}. */
    public Map<String, float[]> state() {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.named().forEach((name, p) -> {
            out.put(name + ".M", p.gather(m[p.tensor().id]));
            out.put(name + ".V", p.gather(v[p.tensor().id]));
        });
        return out;
    }

    /** Restores moments saved by {@link #state()}. */
    public void restore(Map<String, float[]> state) {
        params.named().forEach((name, p) -> {
            for (String k : new String[]{"M", "V"}) {
                float[] a = state.get(name + "." + k);
                if (a == null || a.length != p.size()) {
                    throw new GptException("checkpoint optimizer state does not match the model (" + name + ")");
                }
                p.scatter(a, (k.equals("M") ? m : v)[p.tensor().id]);
            }
        });
        if (state.size() != 2 * params.named().size()) {
            throw new GptException("checkpoint optimizer state does not match the model (" + state.size()
                    + " arrays for " + params.named().size() + " parameters)");
        }
    }
}
