package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Several heads of self-attention in parallel, their outputs concatenated, then (in the lecture's blocks) a
 * linear projection back into the residual stream.
 *
 * <p>Running each head on its own and concatenating equals one matmul with the heads' weights placed side by
 * side ([C, H*hs]) and a reshape to [B, H, T, hs]; the second is what runs, being several times faster. Each
 * head's weights keep their own names ({@code sa.heads.2.key.weight}), as in the lecture.
 */
final class MultiHeadAttention {
    final String name;
    final Head[] heads;
    final int headSize;
    final Linear proj;  // null in the lecture's early stages, which concatenate the heads and stop there

    MultiHeadAttention(Parameters p, String name, int nEmbd, int nHeads, int headSize, boolean projection,
                       boolean bias) {
        this.name = name;
        this.headSize = headSize;
        this.heads = new Head[nHeads];
        for (int h = 0; h < nHeads; h++) {
            heads[h] = new Head(p, name + ".heads." + h, nEmbd, headSize);
        }
        this.proj = projection ? new Linear(p, name + ".proj", nHeads * headSize, nEmbd, bias) : null;
    }

    /** A single head of size n_embd, as in the lecture's first attention model ({@code sa_head}). */
    static MultiHeadAttention singleHead(Parameters p, String name, int nEmbd) {
        return new MultiHeadAttention(p, name, nEmbd, 1, nEmbd, false, false);
    }

    /** x: [B*T, C] -> [B*T, C] */
    SDVariable forward(GraphBuilder g, SDVariable x) {
        SDVariable q = split(g, x.mmul(weights(g, Role.QUERY)));  // [B, H, T, hs]
        SDVariable k = split(g, x.mmul(weights(g, Role.KEY)));
        SDVariable v = split(g, x.mmul(weights(g, Role.VALUE)));
        SDVariable out = CausalSelfAttention.attend(g, name, q, k, v, heads.length, headSize);  // [B, H, T, hs]
        // Concatenate the heads: [B, H, T, hs] -> [B, T, H, hs] -> [B*T, H*hs]
        SDVariable y = g.sd.reshape(g.sd.permute(out, 0, 2, 1, 3), (long) g.batch * g.time,
                (long) heads.length * headSize);
        if (proj == null) {
            return y;
        }
        return g.dropout(name + ".proj", proj.forward(g, y), (long) g.batch * g.time, proj.out);
    }

    private enum Role { KEY, QUERY, VALUE }

    /** The heads' weights side by side: [C, H*hs]. */
    private SDVariable weights(GraphBuilder g, Role role) {
        SDVariable[] w = new SDVariable[heads.length];
        for (int h = 0; h < heads.length; h++) {
            Head head = heads[h];
            w[h] = g.param(role == Role.KEY ? head.key : role == Role.QUERY ? head.query : head.value);
        }
        return w.length == 1 ? w[0] : g.sd.concat(1, w);
    }

    /**
     * Every head's query, key and value weights side by side in one [C, 3 * H * hs] row-major matrix: all heads'
     * queries (head by head), then their keys, then their values, so that one vector-matrix or matrix product gives
     * every head's q, k and v. The hand-written paths ({@link KvCacheDecoder}, {@link ManualBackprop}) compute with
     * this layout.
     *
     * @param weights a head's [C, hs] weight by parameter name: the parameters, or optimizer state shaped like them
     */
    float[] fusedQkv(Function<String, INDArray> weights) {
        int width = heads.length * headSize;
        float[] fused = null;
        for (int h = 0; h < heads.length; h++) {
            String[] roles = roles(h);
            for (int r = 0; r < 3; r++) {
                float[] w = Parameters.floats(weights.apply(roles[r]));   // [C, hs]
                int c = w.length / headSize;
                if (fused == null) {
                    fused = new float[c * 3 * width];
                }
                for (int i = 0; i < c; i++) {
                    System.arraycopy(w, i * headSize, fused, i * 3 * width + r * width + h * headSize, headSize);
                }
            }
        }
        return fused;
    }

    /** The inverse of {@link #fusedQkv}: each head's [C, hs] block of a fused matrix, by parameter name. */
    void splitQkv(float[] fused, BiConsumer<String, float[]> each) {
        int width = heads.length * headSize;
        int c = fused.length / (3 * width);
        for (int h = 0; h < heads.length; h++) {
            String[] roles = roles(h);
            for (int r = 0; r < 3; r++) {
                float[] part = new float[c * headSize];
                for (int i = 0; i < c; i++) {
                    System.arraycopy(fused, i * 3 * width + r * width + h * headSize, part, i * headSize, headSize);
                }
                each.accept(roles[r], part);
            }
        }
    }

    private String[] roles(int h) {
        return new String[]{heads[h].query, heads[h].key, heads[h].value};
    }

    /** [B*T, H*hs] -> [B, H, T, hs] */
    private SDVariable split(GraphBuilder g, SDVariable x) {
        return g.sd.permute(g.sd.reshape(x, g.batch, g.time, heads.length, headSize), 0, 2, 1, 3);
    }
}
