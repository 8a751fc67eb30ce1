package dev.letsbuildgpt.model;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One gradient array per tensor of a model's {@link Parameters}, laid out like the tensor. */
public final class Gradients {
    private final Parameters params;
    private final float[][] g;

    public Gradients(Parameters params) {
        this.params = params;
        List<Parameters.Tensor> tensors = params.tensors();
        g = new float[tensors.size()][];
        for (Parameters.Tensor t : tensors) {
            g[t.id] = new float[t.size()];
        }
    }

    /** The gradient of a tensor, to read or to add to. */
    public float[] of(Parameters.Tensor t) {
        return g[t.id];
    }

    public void zero() {
        for (float[] a : g) {
            Arrays.fill(a, 0f);
        }
    }

    /** Sets this to the sum of {@code parts}, added in their order (so the result does not depend on who computed them). */
    public void sum(List<Gradients> parts) {
        for (int t = 0; t < g.length; t++) {
            float[] out = g[t];
            System.arraycopy(parts.get(0).g[t], 0, out, 0, out.length);
            for (int k = 1; k < parts.size(); k++) {
                float[] add = parts.get(k).g[t];
                for (int i = 0; i < out.length; i++) {
                    out[i] += add[i];
                }
            }
        }
    }

    /** The global L2 norm over every value (what gradient clipping scales by). */
    public double norm() {
        double sq = 0;
        for (float[] a : g) {
            for (float v : a) {
                sq += (double) v * v;
            }
        }
        return Math.sqrt(sq);
    }

    /** The gradient of one named parameter, row-major in its shape (a copy). */
    public float[] named(String name) {
        Parameters.Parameter p = params.parameter(name);
        return p.gather(of(p.tensor()));
    }

    /** Every named parameter's gradient (copies). */
    public Map<String, float[]> byName() {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.named().forEach((name, p) -> out.put(name, p.gather(of(p.tensor()))));
        return out;
    }

    /** Sets a named parameter's gradient (for gradients computed elsewhere: SameDiff's, per parameter). */
    public void set(String name, float[] values) {
        Parameters.Parameter p = params.parameter(name);
        p.scatter(values, of(p.tensor()));
    }
}
