package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * {@code nn.LayerNorm} over the last axis: normalise each position's vector to mean 0 and variance 1, then scale
 * and shift it by a learned gain and bias. Written out because SameDiff's layerNorm op takes no epsilon.
 */
final class LayerNorm {
    static final double EPS = 1e-5;  // PyTorch's default
    final String weight;
    final String bias;

    LayerNorm(Parameters p, String name, int dim) {
        this.weight = p.constant(name + ".weight", 1.0, dim);
        this.bias = p.constant(name + ".bias", 0.0, dim);
    }

    /** x: [N, C] -> [N, C] */
    SDVariable forward(GraphBuilder g, SDVariable x) {
        SDVariable mean = x.mean(true, 1);                            // [N, 1]
        SDVariable centered = x.sub(mean);
        SDVariable variance = centered.mul(centered).mean(true, 1);  // biased variance, as PyTorch uses
        SDVariable normalized = centered.mul(g.sd.math.rsqrt(variance.add(EPS)));
        return normalized.mul(g.param(weight)).add(g.param(bias));
    }
}
