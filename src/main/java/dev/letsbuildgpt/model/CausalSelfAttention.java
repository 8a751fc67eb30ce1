package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Scaled dot-product attention with a causal mask, written from SameDiff matmuls (no library attention op):
 *
 * <pre>
 *   wei = softmax(mask(q k^T * head_size^-0.5))     position t may only look at positions 0..t
 *   out = wei v
 * </pre>
 *
 * The scale keeps the scores at unit variance at initialisation: without it softmax turns into a near one-hot
 * and each position would attend to a single other one. The mask adds a large negative number (not -infinity,
 * which makes NaN gradients in SameDiff) above the diagonal, so softmax gives those future positions weight 0.
 */
final class CausalSelfAttention {
    /** What the mask adds to a score a position must not see: exp(-1e9) is exactly 0 in float and double. */
    static final double MASKED = -1e9;

    private CausalSelfAttention() {
    }

    /**
     * q, k, v: [B, H, T, hs] -> [B, H, T, hs]. Also names the attention weights {@code name + ".wei"} so that
     * notebooks can draw them.
     */
    static SDVariable attend(GraphBuilder g, String name, SDVariable q, SDVariable k, SDVariable v,
                             int heads, int headSize) {
        SDVariable scores = g.sd.mmul(q, k, false, true, false).mul(Math.pow(headSize, -0.5));  // [B, H, T, T]
        SDVariable masked = scores.add(g.sd.constant(name + ".causal_mask", causalMask(g)));
        SDVariable wei = g.sd.nn.softmax(name + ".wei", masked, -1);                              // [B, H, T, T]
        wei = g.dropout(name + ".attn", wei, g.batch, heads, g.time, g.time);  // the lecture drops attention weights too
        return g.sd.mmul(wei, v);                                                                  // [B, H, T, hs]
    }

    /** [T, T]: 0 where the column (key position) is at or before the row (query position), MASKED after. */
    static INDArray causalMask(GraphBuilder g) {
        return causalMask(g.time, g.dataType());
    }

    static INDArray causalMask(int t, org.nd4j.linalg.api.buffer.DataType dataType) {
        INDArray mask = Nd4j.zeros(dataType, t, t);
        for (int row = 0; row < t; row++) {
            for (int col = row + 1; col < t; col++) {
                mask.putScalar(row, col, MASKED);
            }
        }
        return mask;
    }
}
