package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * A transformer block: communication (self-attention) followed by computation (feed-forward), each added to a
 * residual stream. The residual connections give gradients a straight path from the loss to the input, which
 * is what lets deep stacks train. Normalisation is pre-norm, as in the lecture (unlike the original paper):
 * {@code x = x + sa(ln1(x)); x = x + ffwd(ln2(x))}.
 */
final class Block {
    final MultiHeadAttention sa;
    final FeedForward ffwd;
    final LayerNorm ln1;  // null in the RESIDUAL stage, which comes before the lecture adds LayerNorm
    final LayerNorm ln2;

    Block(Parameters p, String name, GptConfig c, boolean layerNorm) {
        this.sa = new MultiHeadAttention(p, name + ".sa", c.nEmbd(), c.nHead(), c.headSize(), true, c.bias());
        this.ffwd = FeedForward.block(p, name + ".ffwd", c.nEmbd(), c.bias());
        this.ln1 = layerNorm ? new LayerNorm(p, name + ".ln1", c.nEmbd()) : null;
        this.ln2 = layerNorm ? new LayerNorm(p, name + ".ln2", c.nEmbd()) : null;
    }

    /** x: [B*T, C] -> [B*T, C] */
    SDVariable forward(GraphBuilder g, SDVariable x) {
        x = x.add(sa.forward(g, ln1 == null ? x : ln1.forward(g, x)));
        return x.add(ffwd.forward(g, ln2 == null ? x : ln2.forward(g, x)));
    }
}
