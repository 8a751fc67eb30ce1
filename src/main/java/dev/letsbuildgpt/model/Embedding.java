package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * {@code nn.Embedding}: a table with one learnable row per index; looking up index i gives row i.
 */
public final class Embedding {
    public final String name;
    public final int num;
    public final int dim;
    final Parameters.Parameter weight;   // [num, dim]

    /** Initialised as PyTorch does: N(0, 1). */
    public Embedding(Parameters p, String name, int num, int dim) {
        this.name = name;
        this.num = num;
        this.dim = dim;
        this.weight = p.add(name + ".weight", num, dim);
        p.normal(weight, 1.0);
    }

    // ------------------------------------------------------------------------------ SameDiff: the reference definition

    /**
     * indices: [N] integer ids -> [N, dim] rows. Written as one-hot(index) x table rather than with SameDiff's gather,
     * whose gradient is wrong in 1.0.0-M2.1; the product gives the same values and a correct gradient (tested).
     */
    public SDVariable define(Graph g, SDVariable indices) {
        SDVariable oneHot = g.sd().oneHot(null, indices, num, -1, 1.0, 0.0, g.dataType());  // [N, num]
        return oneHot.mmul(g.param(weight));
    }

    // --------------------------------------------------------------------- fast path: forward and backward, on the CPU

    public Pass pass(Shard s) {
        return new Pass(s);
    }

    /** One shard's forward and backward pass. */
    public final class Pass {
        final Shard s;
        final float[] out;    // [N, dim]
        int[] ids;

        Pass(Shard s) {
            this.s = s;
            this.out = new float[s.rows * dim];
        }

        /** ids [N] -> the rows [N, dim]. */
        public float[] forward(int[] ids) {
            this.ids = ids;
            float[] table = weight.tensor().data;
            for (int r = 0; r < s.rows; r++) {
                System.arraycopy(table, ids[r] * dim, out, r * dim, dim);
            }
            return out;
        }

        /** Each row's gradient goes back to the table row it was read from (rows read twice get both). */
        public void backward(float[] dOut) {
            float[] g = s.grad(weight.tensor());
            for (int r = 0; r < s.rows; r++) {
                int t = ids[r] * dim;
                int o = r * dim;
                for (int j = 0; j < dim; j++) {
                    g[t + j] += dOut[o + j];
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------- decoding: one position

    public float[] step(int id) {
        float[] row = new float[dim];
        System.arraycopy(weight.tensor().data, id * dim, row, 0, dim);
        return row;
    }
}
