package dev.letsbuildgpt.model;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One gradient array per tensor of a model's {@link Parameters}, laid out like the tensor.
 *
 * <p>Zeroing is lazy: {@link #zero} marks every array as zero, and an array is filled with zeros only when it is next
 * read or added to ({@link #of}). A weight's product that sets its whole gradient ({@link #overwrite}) then skips both
 * the fill and, in BLAS, reading the old values (beta 0: which also spares copying them to native memory).
 */
public final class Gradients {
    private final Parameters params;
    private final float[][] g;
    private final boolean[] zero;   // whether g[t] counts as zero, whatever it holds

    public Gradients(Parameters params) {
        this.params = params;
        List<Parameters.Tensor> tensors = params.tensors();
        g = new float[tensors.size()][];
        for (Parameters.Tensor t : tensors) {
            g[t.id] = new float[t.size()];
        }
        zero = new boolean[g.length];
    }

    /** The gradient of a tensor, to read or to add to. */
    public float[] of(Parameters.Tensor t) {
        return of(t.id);
    }

    private float[] of(int t) {
        if (zero[t]) {
            Arrays.fill(g[t], 0f);
            zero[t] = false;
        }
        return g[t];
    }

    /** The gradient of a tensor, for a writer that sets every value of it (its old values are not read). */
    float[] overwrite(Parameters.Tensor t) {
        zero[t.id] = false;
        return g[t.id];
    }

    /** Whether a tensor's gradient is zero as far as {@link #zero} knows: a writer may then set it instead of adding. */
    boolean isZero(Parameters.Tensor t) {
        return zero[t.id];
    }

    public void zero() {
        Arrays.fill(zero, true);
    }

    /**
     * Sets this to the sum of {@code parts}, added in their order (so the result does not depend on who computed them).
     * Every tensor's values are split between the fast path's threads, each value summed by one of them (alone, the
     * sum left one core of two idle: 4 % of the cpu preset's step).
     */
    public void sum(List<Gradients> parts) {
        for (int t = 0; t < g.length; t++) {   // the parts' lazy zeros filled first, on this thread
            zero[t] = false;
            for (Gradients p : parts) {
                p.of(t);
            }
        }
        int threads = Backend.threads();
        Backend.onThreads(threads, part -> {
            for (int t = 0; t < g.length; t++) {
                float[] out = g[t];
                int from = Backend.shareStart(out.length, part, threads);
                int to = Backend.shareStart(out.length, part + 1, threads);
                System.arraycopy(parts.get(0).g[t], from, out, from, to - from);
                for (int k = 1; k < parts.size(); k++) {
                    float[] add = parts.get(k).g[t];
                    for (int i = from; i < to; i++) {
                        out[i] += add[i];
                    }
                }
            }
        });
    }

    /** The global L2 norm over every value (what gradient clipping scales by). */
    public double norm() {
        double sq = 0;
        for (int t = 0; t < g.length; t++) {
            for (float v : of(t)) {
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
