package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * {@code nn.LayerNorm} over the last axis: normalise each position's vector to mean 0 and variance 1, then scale and
 * shift it by a learned gain and bias. It normalises each row (one position's features), where BatchNorm would
 * normalise each column over the batch: nothing is shared between positions, so training and inference agree.
 */
public final class LayerNorm {
    static final double EPS = 1e-5;  // PyTorch's default
    public final String name;
    public final int dim;
    final Parameters.Parameter weight;   // gamma, [dim], initially 1
    final Parameters.Parameter bias;     // beta, [dim], initially 0

    public LayerNorm(Parameters p, String name, int dim) {
        this.name = name;
        this.dim = dim;
        this.weight = p.add(name + ".weight", 0, dim);
        this.bias = p.add(name + ".bias", 0, dim);
        p.constant(weight, 1.0);
        p.constant(bias, 0.0);
    }

    // ------------------------------------------------------------------------------ SameDiff: the reference definition

    /** x: [N, C] -> [N, C]. Written out because SameDiff's layerNorm op takes no epsilon. */
    public SDVariable define(Graph g, SDVariable x) {
        SDVariable mean = x.mean(true, 1);                            // [N, 1]
        SDVariable centered = x.sub(mean);
        SDVariable variance = centered.mul(centered).mean(true, 1);  // biased variance, as PyTorch uses
        SDVariable normalized = centered.mul(g.sd().math.rsqrt(variance.add(EPS)));
        return normalized.mul(g.param(weight)).add(g.param(bias));
    }

    // --------------------------------------------------------------------- fast path: forward and backward, on the CPU

    public Pass pass(Shard s) {
        return new Pass(s);
    }

    /** One shard's forward and backward pass. */
    public final class Pass {
        final Shard s;
        final float[] out;    // [N, C]
        final float[] xhat;   // [N, C] the normalised input, before gain and bias
        final float[] rstd;   // [N] 1 / sqrt(var + eps) of each row
        final float[] dx;     // [N, C]

        Pass(Shard s) {
            this.s = s;
            int n = s.rows * dim;
            out = s.activations(name, "out", n);
            xhat = s.activations(name, "xhat", n);
            rstd = s.activations(name, "rstd", s.rows);
            dx = s.gradientScratch(name, "dx", n);
        }

        /** out = (x - mean) / sqrt(var + eps) * weight + bias, row by row. */
        public float[] forward(float[] x) {
            return forward(x, 0, s.rows);
        }

        /** Rows r0..r1-1 of the forward pass (a decoder's window does its row ranges at once). */
        float[] forward(float[] x, int r0, int r1) {
            // This call's own rows: two threads may run row ranges of one pass at once.
            float[] v = new float[dim];
            float[] h = new float[dim];
            float[] y = new float[dim];
            for (int row = r0; row < r1; row++) {
                rstd[row] = normalize(x, row * dim, xhat, out, v, h, y);
            }
            return out;
        }

        /**
         * dOut -> dx; adds to the gain's and bias's gradients. With d xhat = dOut * weight, per row:
         * dx = rstd * (d xhat - mean(d xhat) - xhat * mean(d xhat * xhat)).
         * Each row is worked on in arrays of its own (see {@link Sums}: the JIT then vectorises the loops).
         */
        public float[] backward(float[] dOut) {
            float[] w = weight.tensor().data;
            float[] dw = s.grad(weight.tensor());
            float[] db = s.grad(bias.tensor());
            float[] g = new float[dim];
            float[] h = new float[dim];
            float[] dxh = new float[dim];
            for (int row = 0; row < s.rows; row++) {
                int o = row * dim;
                System.arraycopy(dOut, o, g, 0, dim);
                System.arraycopy(xhat, o, h, 0, dim);
                for (int j = 0; j < dim; j++) {
                    dw[j] += g[j] * h[j];
                    db[j] += g[j];
                    dxh[j] = g[j] * w[j];
                }
                float mean1 = Sums.sum(dxh, dim) / dim;
                float mean2 = Sums.dot(dxh, h, dim) / dim;
                float r = rstd[row];
                for (int j = 0; j < dim; j++) {
                    dxh[j] = r * (dxh[j] - mean1 - h[j] * mean2);
                }
                System.arraycopy(dxh, 0, dx, o, dim);
            }
            return dx;
        }
    }

    /**
     * Normalises the row at {@code o}: writes xhat and the output there, returns 1/std (biased variance). Works in
     * v, h and y, arrays of dim of the caller's, so that every loop indexes its arrays alike (see {@link Sums}).
     */
    private float normalize(float[] x, int o, float[] xhat, float[] out, float[] v, float[] h, float[] y) {
        float[] w = weight.tensor().data;
        float[] b = bias.tensor().data;
        System.arraycopy(x, o, v, 0, dim);
        float mean = Sums.sum(v, dim) / dim;
        for (int j = 0; j < dim; j++) {
            h[j] = v[j] - mean;
        }
        float r = (float) (1 / Math.sqrt(Sums.dot(h, h, dim) / dim + EPS));   // biased variance, as PyTorch's
        for (int j = 0; j < dim; j++) {
            float xh = h[j] * r;
            h[j] = xh;
            y[j] = xh * w[j] + b[j];
        }
        System.arraycopy(h, 0, xhat, o, dim);
        System.arraycopy(y, 0, out, o, dim);
        return r;
    }

    // ------------------------------------------------------------------------------------- decoding: one position

    /** x [dim] -> its normalised row; the array is this thread's, overwritten by this LayerNorm's next step. */
    public float[] step(float[] x) {
        float[][] buffers = stepBuffers.get();
        if (buffers[0] == null) {
            for (int i = 0; i < buffers.length; i++) {
                buffers[i] = new float[dim];
            }
        }
        normalize(x, 0, buffers[1], buffers[0], buffers[2], buffers[3], buffers[4]);
        return buffers[0];
    }

    /**
     * Per thread, a step's output, its xhat and normalize's rows, reused from token to token (see Linear#step: no
     * garbage a token).
     */
    private final ThreadLocal<float[][]> stepBuffers = ThreadLocal.withInitial(() -> new float[5][]);
}
