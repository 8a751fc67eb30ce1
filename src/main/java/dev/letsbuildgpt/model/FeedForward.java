package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * The per-position computation after attention: "the tokens have gathered information, now they think about it".
 * In a block it is {@code Linear(C, 4C), ReLU, Linear(4C, C), Dropout}; the lecture's first version, before blocks,
 * is a single {@code Linear(C, C), ReLU}.
 */
public final class FeedForward {
    public final String name;
    public final int nEmbd;
    final Linear expand;      // net.0
    final Linear project;     // net.2; null in the single-layer version
    final Dropout dropout;    // net.3

    private FeedForward(Parameters p, String name, int nEmbd, boolean inBlock, boolean bias, double dropout) {
        this.name = name;
        this.nEmbd = nEmbd;
        // Named after the lecture's nn.Sequential indices: net.0 = Linear, net.1 = ReLU, net.2 = Linear, net.3 = Dropout.
        this.expand = new Linear(p, name + ".net.0", nEmbd, inBlock ? 4 * nEmbd : nEmbd, bias);
        this.project = inBlock ? new Linear(p, name + ".net.2", 4 * nEmbd, nEmbd, bias) : null;
        this.dropout = new Dropout(name + ".net.3", inBlock ? dropout : 0);
    }

    /** Linear(C, 4C), ReLU, Linear(4C, C), Dropout: the block's feed-forward. */
    public static FeedForward block(Parameters p, String name, int nEmbd, boolean bias, double dropout) {
        return new FeedForward(p, name, nEmbd, true, bias, dropout);
    }

    /** Linear(C, C), ReLU: the lecture's feed-forward before it introduces blocks. */
    public static FeedForward single(Parameters p, String name, int nEmbd, boolean bias) {
        return new FeedForward(p, name, nEmbd, false, bias, 0);
    }

    // ------------------------------------------------------------------------------ SameDiff: the reference definition

    /** x: [B*T, C] -> [B*T, C] */
    public SDVariable define(Graph g, SDVariable x) {
        SDVariable h = g.sd().nn.relu(expand.define(g, x), 0);               // [B*T, 4C]
        if (project == null) {
            return h;
        }
        return dropout.define(g, project.define(g, h), (long) g.batch() * g.time(), nEmbd);
    }

    // --------------------------------------------------------------------- fast path: forward and backward, on the CPU

    public Pass pass(Shard s) {
        return new Pass(s);
    }

    /** One shard's forward and backward pass. */
    public final class Pass {
        final Linear.Pass expand;
        final Linear.Pass project;
        final Dropout.Pass dropout;
        final float[] dh;              // [N, C] the single-layer version's gradient buffer (the block's is project's)
        float[] h;                     // [N, 4C] after ReLU: its sign is ReLU's derivative
        final float[][] hidden;        // a decoder's window: each part's columns of h [N, 4C / parts]

        Pass(Shard s) {
            this.expand = FeedForward.this.expand.pass(s);
            this.project = FeedForward.this.project == null ? null : FeedForward.this.project.pass(s);
            this.dropout = FeedForward.this.dropout.pass(s, s.time * nEmbd);
            this.dh = project == null ? s.gradientScratch(name, "dh", s.rows * nEmbd) : null;
            int w = FeedForward.this.expand.out;
            this.hidden = new float[s.parts > 1 ? s.parts : 0][];
            for (int p = 0; p < hidden.length; p++) {
                hidden[p] = s.scratch(name, "hidden" + p, s.rows * ((p + 1) * w / s.parts - p * w / s.parts));
            }
        }

        /** x [N, C] -> [N, C] */
        public float[] forward(float[] x) {
            h = relu(expand.forward(x));
            return project == null ? h : dropout.forward(project.forward(h));
        }

        /**
         * Part p of parts of a decoder's window (no dropout: it does not train), its input in {@code expand}'s direct
         * buffer: that part's columns of the hidden layer, ReLU, and their share of the projection back, a sum of the
         * part's own that {@code project.sumInputs} adds up. Each hidden column depends on every input column and
         * feeds every output, so this is the split with one handoff before and one after (Megatron-LM's).
         */
        void forwardHidden(int p, int parts) {
            int w = FeedForward.this.expand.out;
            int c0 = p * w / parts;
            int c1 = (p + 1) * w / parts;
            float[] part = hidden[p];
            expand.forwardColumns(c0, c1);
            expand.columns(c0, c1, part);
            expand.putColumns(c0, c1, relu(part));
            project.forwardInputs(expand.yD, c0, c1, p);
        }

        public float[] backward(float[] dOut) {
            float[] dh = project == null ? copyInto(dOut, this.dh) : project.backward(dropout.backward(dOut));
            // ReLU passes the gradient only where its output was positive. Written without a branch, which the JIT
            // cannot vectorise and which mispredicts on half the values (10x slower on the gpt preset's [N, 4C]):
            // min(1, h * 2^252) is 1 for any positive h (the smallest float included) and 0 for h = 0, and adding
            // 0 turns the -0 of a negative gradient times 0 into the +0 the branch wrote, so the bits are the same.
            for (int i = 0; i < dh.length; i++) {
                dh[i] = dh[i] * Math.min(1f, h[i] * 0x1p126f * 0x1p126f) + 0f;
            }
            return expand.backward(dh);
        }

        private static float[] copyInto(float[] from, float[] to) {
            System.arraycopy(from, 0, to, 0, to.length);
            return to;
        }
    }

    // ------------------------------------------------------------------------------------- decoding: one position

    public float[] step(float[] x) {
        float[] h = relu(expand.step(x));
        return project == null ? h : project.step(h);
    }

    /** ReLU, in place: h. */
    private static float[] relu(float[] h) {
        for (int i = 0; i < h.length; i++) {
            h[i] = Math.max(0f, h[i]);
        }
        return h;
    }
}
