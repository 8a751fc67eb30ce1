package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;

import java.nio.FloatBuffer;

/**
 * A transformer block: communication (self-attention) followed by computation (feed-forward), each added to a
 * residual stream: {@code x = x + sa(ln1(x)); x = x + ffwd(ln2(x))}. The residual connections give gradients a
 * straight path from the loss to the input, which is what lets deep stacks train. Normalisation is pre-norm, as in
 * the lecture (unlike the original paper); the lecture's stage before LayerNorm has none. Without residual
 * connections ({@link GptConfig#residual()} false, for the experiment that shows why they are there) a block is
 * {@code x = sa(ln1(x)); x = ffwd(ln2(x))}.
 */
public final class Block {
    public final String name;
    public final int nEmbd;
    final LayerNorm ln1;      // null in the RESIDUAL stage, which comes before the lecture adds LayerNorm
    final MultiHeadAttention sa;
    final LayerNorm ln2;
    final FeedForward ffwd;
    final boolean residual;

    public Block(Parameters p, String name, GptConfig c, boolean layerNorm) {
        this.name = name;
        this.nEmbd = c.nEmbd();
        this.residual = c.residual();
        this.sa = new MultiHeadAttention(p, name + ".sa", c.nEmbd(), c.nHead(), c.headSize(), true, c.bias(),
                c.dropout());
        this.ffwd = FeedForward.block(p, name + ".ffwd", c.nEmbd(), c.bias(), c.dropout());
        this.ln1 = layerNorm ? new LayerNorm(p, name + ".ln1", c.nEmbd()) : null;
        this.ln2 = layerNorm ? new LayerNorm(p, name + ".ln2", c.nEmbd()) : null;
    }

    // ------------------------------------------------------------------------------ SameDiff: the reference definition

    /** x: [B*T, C] -> [B*T, C] */
    public SDVariable define(Graph g, SDVariable x) {
        SDVariable a = sa.define(g, ln1 == null ? x : ln1.define(g, x));
        x = residual ? x.add(a) : a;
        SDVariable f = ffwd.define(g, ln2 == null ? x : ln2.define(g, x));
        return residual ? x.add(f) : f;
    }

    // --------------------------------------------------------------------- fast path: forward and backward, on the CPU

    public Pass pass(Shard s) {
        return new Pass(s);
    }

    /** One shard's forward and backward pass; the residual stream is updated in place. */
    public final class Pass {
        final LayerNorm.Pass ln1;
        final MultiHeadAttention.Pass sa;
        final LayerNorm.Pass ln2;
        final FeedForward.Pass ffwd;
        final float[] in1;        // without LayerNorm: copies of the stream that attention and feed-forward read,
        final float[] in2;        // kept for their backward pass while the stream itself moves on
        final Shard s;

        Pass(Shard s) {
            this.s = s;
            ln1 = Block.this.ln1 == null ? null : Block.this.ln1.pass(s);
            sa = Block.this.sa.pass(s);
            ln2 = Block.this.ln2 == null ? null : Block.this.ln2.pass(s);
            ffwd = Block.this.ffwd.pass(s);
            in1 = ln1 == null ? s.activations(name + ".stream", "in1", s.rows * nEmbd) : null;   // blocks.*.stream
            in2 = ln2 == null ? s.activations(name + ".stream", "in2", s.rows * nEmbd) : null;
        }

        /** x [N, C], the residual stream: x += sa(ln1(x)); x += ffwd(ln2(x)). Returns x. */
        public float[] forward(float[] x) {
            if (s.parts > 1) {
                return forwardInParts(x);
            }
            join(x, sa.forward(ln1 == null ? copy(x, in1) : ln1.forward(x)));
            join(x, ffwd.forward(ln2 == null ? copy(x, in2) : ln2.forward(x)));
            return x;
        }

        /**
         * The same for a decoder's window, split between the cores as Megatron-LM splits a block between devices: the
         * heads in groups, each group from the block's input to its share of the projection; the feed-forward's hidden
         * layer in column ranges, each from the LayerNorm's output to its share of the output. Every part's products
         * then have all of the window's rows, which BLAS runs faster than half of them (A's four products on two
         * threads: 185-270 us a block, 248-315 split by rows; scripts/microbench/WindowSplit.java). The rest works
         * row by row, in row ranges: the LayerNorms, the residual additions, and adding up the parts' shares, in
         * part order, so that the bits do not depend on which part finished first.
         */
        private float[] forwardInParts(float[] x) {
            int parts = s.parts;
            inputInParts(x);
            Parallel.run(parts, p -> sa.forwardHeads(p, parts));
            s.inRowRanges((r0, r1) -> {
                join(x, sa.proj.sumInputs(r0, r1), r0, r1);
                ffwd.expand.input(ln2 == null ? x : ln2.forward(x, r0, r1), r0, r1);
            });
            Parallel.run(parts, p -> ffwd.forwardHidden(p, parts));
            s.inRowRanges((r0, r1) -> join(x, ffwd.project.sumInputs(r0, r1), r0, r1));
            return x;
        }

        /** Each row range of the stream through ln1, to where the split q/k/v product reads it. */
        private void inputInParts(float[] x) {
            s.inRowRanges((r0, r1) -> sa.qkv.input(ln1 == null ? x : ln1.forward(x, r0, r1), r0, r1));
        }

        /** The residual connection: x + branch, in place (or, without one, the branch's output alone). */
        private void join(float[] x, float[] branch) {
            join(x, branch, 0, s.rows);
        }

        private void join(float[] x, float[] branch, int r0, int r1) {
            if (!residual) {
                copyRows(branch, x, r0, r1);
                return;
            }
            for (int i = r0 * nEmbd; i < r1 * nEmbd; i++) {
                x[i] += branch[i];
            }
        }

        private float[] copyRows(float[] from, float[] to, int r0, int r1) {
            System.arraycopy(from, r0 * nEmbd, to, r0 * nEmbd, (r1 - r0) * nEmbd);
            return to;
        }

        /**
         * The queries, keys and values [N, 3C] its attention computes from x: all a decoder keeps of a block. In a
         * decoder's window: ln1 in row ranges, then the queries, keys and values of each group of heads.
         */
        FloatBuffer keysAndValues(float[] x) {
            if (s.parts > 1) {
                inputInParts(x);
                Parallel.run(s.parts, p -> sa.keysAndValues(p, s.parts));
            } else {
                sa.qkv.forward(ln1 == null ? copy(x, in1) : ln1.forward(x));
            }
            return lastKeysAndValues();
        }

        /** The queries, keys and values of its last forward pass (a window's split products leave them in qkv.yD). */
        FloatBuffer lastKeysAndValues() {
            return s.parts > 1 ? sa.qkv.yD : FloatBuffer.wrap(sa.qkv.y);
        }

        /**
         * dx [N, C], the gradient of the block's output, becomes that of its input: each residual passes the gradient
         * straight through and adds what comes back through its branch.
         */
        public float[] backward(float[] dx) {
            float[] d = ffwd.backward(dx);
            join(dx, ln2 == null ? d : ln2.backward(d));
            d = sa.backward(dx);
            join(dx, ln1 == null ? d : ln1.backward(d));
            return dx;
        }
    }

    static void add(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    private static float[] copy(float[] from, float[] to) {
        System.arraycopy(from, 0, to, 0, to.length);
        return to;
    }

    // ------------------------------------------------------------------------------------- decoding: one position

    public Head.Cache cache(int blockSize) {
        return sa.cache(blockSize);
    }

    /** x [C] at position pos -> [C] */
    public float[] step(Head.Cache c, float[] x, int pos) {
        return stepFrom(c, x, sa.qkv.step(ln1 == null ? x : ln1.step(x)), pos);
    }

    /**
     * The same, given the queries, keys and values [3C] its attention computes from x: a prefill's last row, which
     * the window's product computed with the others.
     */
    float[] stepFrom(Head.Cache c, float[] x, float[] qkvRow, int pos) {
        float[] a = sa.stepFrom(c, qkvRow, pos);
        float[] y = residual ? sum(x, a) : a;
        float[] f = ffwd.step(ln2 == null ? y : ln2.step(y));
        return residual ? sum(y, f) : f;
    }

    private static float[] sum(float[] a, float[] b) {
        float[] y = a.clone();
        add(y, b);
        return y;
    }
}
