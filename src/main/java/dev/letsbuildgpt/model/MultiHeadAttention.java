package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * Several heads of self-attention in parallel, their outputs concatenated, then (in the lecture's blocks) a linear
 * projection back into the residual stream and dropout: {@code proj(cat([h(x) for h in heads]))}.
 *
 * <p>Each head keeps its own named weights ({@code sa.heads.2.key.weight}), as in the lecture, but they are stored
 * side by side in one [C, 3 * H * hs] tensor, so that the fast path computes every head's query, key and value
 * with one matrix product (nanoGPT's {@code c_attn}) and then every head's attention in one loop.
 */
public final class MultiHeadAttention {
    public final String name;
    public final int nEmbd;
    public final int headSize;
    final Head[] heads;
    final Linear qkv;         // every head's query, key and value weights: [C, 3 * H * hs]
    final Linear proj;        // null in the lecture's early stages, which concatenate the heads and stop there
    final Dropout dropout;    // after the projection

    public MultiHeadAttention(Parameters p, String name, int nEmbd, int nHeads, int headSize, boolean projection,
                              boolean bias, double dropout) {
        this.name = name;
        this.nEmbd = nEmbd;
        this.headSize = headSize;
        Head.Fused fused = Head.fused(p, name + ".heads", nHeads, nEmbd, headSize, dropout);
        this.heads = fused.heads();
        this.qkv = fused.qkv();
        this.proj = projection ? new Linear(p, name + ".proj", nHeads * headSize, nEmbd, bias) : null;
        this.dropout = new Dropout(name + ".dropout", projection ? dropout : 0);
    }

    /** Width of the concatenated heads: H * hs. */
    int width() {
        return heads.length * headSize;
    }

    // ------------------------------------------------------------------------------ SameDiff: the reference definition

    /** x: [B*T, C] -> [B*T, C] (or [B*T, H*hs] without the projection). */
    public SDVariable define(Graph g, SDVariable x) {
        SDVariable[] outs = new SDVariable[heads.length];
        for (int h = 0; h < heads.length; h++) {
            outs[h] = heads[h].define(g, x);                           // [B*T, hs]
        }
        SDVariable y = outs.length == 1 ? outs[0] : g.sd().concat(1, outs);   // [B*T, H*hs]
        if (proj == null) {
            return y;
        }
        return dropout.define(g, proj.define(g, y), (long) g.batch() * g.time(), nEmbd);
    }

    // --------------------------------------------------------------------- fast path: forward and backward, on the CPU

    public Pass pass(Shard s) {
        return new Pass(s);
    }

    /** One shard's forward and backward pass. */
    public final class Pass {
        final Linear.Pass qkv;
        final Head.Attention attention;
        final Linear.Pass proj;
        final Dropout.Pass dropout;

        Pass(Shard s) {
            this.qkv = MultiHeadAttention.this.qkv.pass(s, true);   // read by the heads' products only
            this.attention = new Head.Attention(s, heads, name, qkv.directOutput(),
                    MultiHeadAttention.this.proj != null);
            this.proj = MultiHeadAttention.this.proj == null ? null : MultiHeadAttention.this.proj.pass(s);
            this.dropout = MultiHeadAttention.this.dropout.pass(s, s.time * nEmbd);
        }

        /** x [N, C] -> [N, C] */
        public float[] forward(float[] x) {
            float[] y = attention.forward(qkv, x);                // [N, H*hs]: the heads side by side
            if (proj == null) {
                return y;
            }
            // The projection reads the heads' outputs where their products wrote them, when they are only there (in
            // a window in parts, from an array: a block's goes through forwardHeads instead).
            return dropout.forward(y == null ? proj.forward(attention.yD) : proj.forward(y));
        }

        /**
         * Part p of parts of a decoder's window (no dropout), its input in {@code qkv}'s direct buffer: the queries,
         * keys and values of that part's group of heads, their attention, and the group's share of the projection
         * (the projection's input rows that are these heads' outputs), a sum of the part's own that
         * {@code proj.sumInputs} adds up. A head needs only its own queries, keys and values, so a group goes from
         * the block's input to its share of the output without waiting for the other.
         */
        void forwardHeads(int p, int parts) {
            keysAndValues(p, parts);
            int[] g = group(p, parts);
            for (int b = 0; b < attention.s.batch; b++) {
                for (int i = g[0]; i < g[1]; i++) {
                    attention.attend(b, i, attention.exp[p]);
                }
            }
            proj.forwardInputs(attention.yD, g[0] * headSize, g[1] * headSize, p);
        }

        /** The queries, keys and values of part p's group of heads, in qkv's direct buffer (qkv.yD). */
        void keysAndValues(int p, int parts) {
            int[] g = group(p, parts);
            int w = width();
            for (int third = 0; third < 3; third++) {   // queries, keys, values: each W wide, head after head
                qkv.forwardColumns(third * w + g[0] * headSize, third * w + g[1] * headSize);
            }
        }

        /** Part p's heads: h0..h1-1. */
        private int[] group(int p, int parts) {
            return new int[]{p * heads.length / parts, (p + 1) * heads.length / parts};
        }

        public float[] backward(float[] dOut) {
            if (proj == null) {
                return attention.backward(qkv, dOut);
            }
            proj.backward(dropout.backward(dOut), attention.yD);   // the heads' dy, left where their products read it
            return attention.backward(qkv);
        }
    }

    // ------------------------------------------------------------------------------------- decoding: one position

    public Head.Cache cache(int blockSize) {
        return new Head.Cache(heads.length, blockSize, headSize);
    }

    /** x [C] at position pos -> [C]; this position's keys and values join the cache. */
    public float[] step(Head.Cache c, float[] x, int pos) {
        return stepFrom(c, qkv.step(x), pos);
    }

    /** The same from the position's queries, keys and values [3 H hs] (computed elsewhere: a prefill's last row). */
    float[] stepFrom(Head.Cache c, float[] qkvRow, int pos) {
        float[] y = Head.attendStep(c, qkvRow, pos, heads.length, headSize);
        return proj == null ? y : proj.step(y);
    }
}
