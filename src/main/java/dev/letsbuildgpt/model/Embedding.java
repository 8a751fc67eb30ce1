package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * {@code nn.Embedding}: a table with one learnable row per index.
 *
 * <p>A row is looked up as one-hot(index) x table rather than with SameDiff's gather, whose gradient is wrong in
 * 1.0.0-M2.1; the matmul gives the same forward values and a correct gradient (tested).
 */
final class Embedding {
    final String weight;
    final int num;

    Embedding(Parameters p, String name, int num, int dim) {
        this.weight = p.normal(name + ".weight", 1.0, num, dim);  // PyTorch's default: N(0, 1)
        this.num = num;
    }

    /** indices: [N] integer ids -> [N, dim] rows */
    SDVariable forward(GraphBuilder g, SDVariable indices) {
        SDVariable oneHot = g.sd.oneHot(null, indices, num, -1, 1.0, 0.0, g.dataType());  // [N, num]
        return oneHot.mmul(g.param(weight));
    }
}
