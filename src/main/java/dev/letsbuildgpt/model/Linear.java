package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * {@code nn.Linear}: y = x W + b. The weight is stored [in, out] (PyTorch stores its transpose) so that the
 * forward pass is one plain matmul of the [B*T, in] activations.
 */
final class Linear {
    final String weight;
    final String bias;   // null without bias
    final int out;

    Linear(Parameters p, String name, int in, int out, boolean bias) {
        double bound = 1 / Math.sqrt(in);  // PyTorch's default: uniform in +-1/sqrt(fan_in)
        this.weight = p.uniform(name + ".weight", bound, in, out);
        this.bias = bias ? p.uniform(name + ".bias", bound, out) : null;
        this.out = out;
    }

    /** x: [N, in] -> [N, out] */
    SDVariable forward(GraphBuilder g, SDVariable x) {
        SDVariable y = x.mmul(g.param(weight));
        return bias == null ? y : y.add(g.param(bias));
    }
}
