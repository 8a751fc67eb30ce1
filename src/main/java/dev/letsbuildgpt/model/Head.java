package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * One head of causal self-attention, the lecture's {@code Head}:
 *
 * <pre>
 *   k = key(x), q = query(x), v = value(x)                       each [B, T, head_size]
 *   wei = softmax(mask(q k^T * head_size^-0.5))                  [B, T, T]: position t looks at positions 0..t
 *   out = dropout(wei) v                                         [B, T, head_size]
 * </pre>
 *
 * Every position emits a query ("what am I looking for"), a key ("what do I contain") and a value ("what I will tell
 * you if you find me interesting"); a query's dot product with each key says how much of that key's value it takes.
 * The scale keeps the scores at unit variance at initialisation: without it softmax sharpens towards one-hot and a
 * position would listen to a single other one. The mask gives the future weight 0: in the graph by adding a large
 * negative number (not -infinity, which makes NaN gradients in SameDiff), on the fast path by not computing it.
 *
 * <p>The key, query and value weights ([C, head_size] each, no bias, as in the lecture) are stored side by side in
 * one tensor, queries first, so that one matrix product computes all three; a {@link MultiHeadAttention} keeps all
 * of its heads' weights in one such tensor and runs every head's attention through {@link Attention}.
 */
public final class Head {
    /** What the graph's mask adds to a score a position must not see: exp(-1e9) is exactly 0 in float and double. */
    static final double MASKED = -1e9;

    public final String name;
    public final int nEmbd;
    public final int headSize;
    final Linear key;
    final Linear query;
    final Linear value;
    final Linear qkv;         // all three side by side, [C, 3 hs]; null for one of several heads (their owner has it)
    final Dropout dropout;    // on the attention weights

    /** A head of its own (the lecture's first attention model: {@code sa_head = Head(n_embd)}). */
    public Head(Parameters p, String name, int nEmbd, int headSize, double dropout) {
        this(p, name, p.tensor(name + ".qkv", 3L * nEmbd * headSize), 0, 1, nEmbd, headSize, dropout);
    }

    /**
     * Head {@code h} of {@code heads} whose weights live in {@code fused}: [C, 3 * heads * hs], every head's query,
     * then every head's key, then every head's value.
     */
    private Head(Parameters p, String name, Parameters.Tensor fused, int h, int heads, int nEmbd, int headSize,
                 double dropout) {
        this.name = name;
        this.nEmbd = nEmbd;
        this.headSize = headSize;
        int width = 3 * heads * headSize;
        // Created key, query, value, as in the lecture's Head, so that a seed gives the same weights in every stage.
        this.key = new Linear(name + ".key", view(p, name + ".key.weight", fused, (heads + h) * headSize, width), null);
        this.query = new Linear(name + ".query", view(p, name + ".query.weight", fused, h * headSize, width), null);
        this.value = new Linear(name + ".value", view(p, name + ".value.weight", fused, (2 * heads + h) * headSize,
                width), null);
        double bound = 1 / Math.sqrt(nEmbd);   // nn.Linear's default initialisation
        p.uniform(key.weight, bound);
        p.uniform(query.weight, bound);
        p.uniform(value.weight, bound);
        this.qkv = heads == 1 ? qkvOf(fused, nEmbd, width) : null;
        this.dropout = new Dropout(name + ".dropout", dropout);
    }

    /** Several heads whose weights sit side by side in one tensor, and the one product that computes them all. */
    record Fused(Head[] heads, Linear qkv) {
    }

    /** {@code count} heads named {@code name.0}, {@code name.1}, ... (a MultiHeadAttention's {@code heads}). */
    static Fused fused(Parameters p, String name, int count, int nEmbd, int headSize, double dropout) {
        int width = 3 * count * headSize;
        Parameters.Tensor t = p.tensor(name + ".qkv", (long) nEmbd * width);
        Head[] heads = new Head[count];
        for (int h = 0; h < count; h++) {
            heads[h] = new Head(p, name + "." + h, t, h, count, nEmbd, headSize, dropout);
        }
        return new Fused(heads, qkvOf(t, nEmbd, width));
    }

    /** The product x [N, C] -> every head's q, k and v [N, 3 * H * hs]. */
    private static Linear qkvOf(Parameters.Tensor fused, int nEmbd, int width) {
        return new Linear(fused.name, Parameters.whole(fused, nEmbd, width), null);
    }

    private Parameters.Parameter view(Parameters p, String name, Parameters.Tensor fused, int column, int width) {
        Parameters.Parameter v = p.add(name, fused, column, nEmbd, headSize, width, nEmbd, headSize);
        p.markLinearWeight(v);   // the lecture's nn.Linear(n_embd, head_size, bias=False)
        return v;
    }

    // ------------------------------------------------------------------------------ SameDiff: the reference definition

    /** x: [B*T, C] -> [B*T, head_size]. Names the attention weights {@code name.wei} ([B, T, T]) for plots. */
    public SDVariable define(Graph g, SDVariable x) {
        int b = g.batch();
        int t = g.time();
        SDVariable k = g.sd().reshape(key.define(g, x), b, t, headSize);               // [B, T, hs]
        SDVariable q = g.sd().reshape(query.define(g, x), b, t, headSize);             // [B, T, hs]
        SDVariable v = g.sd().reshape(value.define(g, x), b, t, headSize);             // [B, T, hs]
        SDVariable scores = g.sd().mmul(q, k, false, true, false).mul(Math.pow(headSize, -0.5));   // [B, T, T]
        SDVariable masked = scores.add(g.sd().constant(name + ".tril", causalMask(t, g.dataType())));
        SDVariable wei = g.sd().nn.softmax(name + ".wei", masked, -1);                // [B, T, T]
        wei = dropout.define(g, wei, b, t, t);
        return g.sd().reshape(wei.mmul(v), (long) b * t, headSize);                  // [B*T, hs]
    }

    /** [T, T]: 0 where the column (key position) is at or before the row (query position), MASKED after. */
    static INDArray causalMask(int t, DataType dataType) {
        INDArray mask = Nd4j.zeros(dataType, t, t);
        for (int row = 0; row < t; row++) {
            for (int col = row + 1; col < t; col++) {
                mask.putScalar(row, col, MASKED);
            }
        }
        return mask;
    }

    // --------------------------------------------------------------------- fast path: forward and backward, on the CPU

    public Pass pass(Shard s) {
        if (qkv == null) {
            throw new IllegalStateException(name + " is one of several heads: their MultiHeadAttention computes them");
        }
        return new Pass(s);
    }

    /** One shard's forward and backward pass: the three projections in one product, then the attention. */
    public final class Pass {
        final Linear.Pass qkv;
        final Attention attention;

        Pass(Shard s) {
            this.qkv = Head.this.qkv.pass(s, true);
            this.attention = new Attention(s, new Head[]{Head.this}, name, qkv.directOutput(), false);
        }

        /** x [N, C] -> out [N, hs] */
        public float[] forward(float[] x) {
            return attention.forward(qkv, x);
        }

        public float[] backward(float[] dOut) {
            return attention.backward(qkv, dOut);
        }
    }

    /**
     * How many query rows a block of attention's products has: they are cut into blocks, so that each block multiplies
     * only the keys its rows can see: with four, 10/16 of the whole [T, T] products' work. Only from 64 rows a block:
     * below that the calls cost more than they skip (training steps, alternating in one process, best of six: A, T = 64, 30.9 ms in
     * four blocks against 27.5 in one; T, T = 32, 7.60 against 7.12; B, T = 256, 7.21 s against 8.29, best of four).
     */
    static int causalBlockRows(int t) {
        int blocks = Math.max(1, Math.min(4, t / 64));
        return (t + blocks - 1) / blocks;
    }

    /**
     * The attention of H heads over a shard, given every position's queries, keys and values side by side in one
     * [N, 3 W] matrix (W = H * hs; queries of heads 0..H-1, then keys, then values): for each sequence and head,
     * {@code y = dropout(softmax(causal(q k^T * scale))) v}, the heads' outputs side by side in [N, W].
     *
     * <p>A head of a sequence is a [T, hs] block of that matrix, which BLAS reads in place with a row stride of 3W.
     * The per-(sequence, head) products work on direct buffers: BLAS reads those in place, while a Java array is
     * copied whole by every native call.
     */
    static final class Attention {
        final Shard s;
        final Head[] heads;
        final int h;
        final int hs;
        final int t;
        final int w;                     // H * hs
        final float scale;
        final Dropout.Pass[] drop;       // each head's dropout on its attention weights
        final float[] att;               // [B, H, T, T] attention weights, before dropout: kept for backward (in
                                         // a pass that only infers, shared by the blocks: Shard#activations)
        final float[] y;                 // [N, W]: the output; null where it stays in native memory only (yD)
        // Buffers used only while the pass runs, shared with the other blocks' attention (see Shard#scratch; the
        // backward pass's only where there are gradients). One (sequence, head) is done start to end before the
        // next, through a [T, T] tile that stays in the cache: a whole [B, H, T, T] array is 25 MB per layer on the
        // gpt preset, and each extra pass over it costs more than the arithmetic it carries.
        final float[] tile;              // [T, T]: one head's weights after dropout
        final float[] dtile;             // [T, T]: their gradient, then the scores'
        final float[] rowD;              // [T]: a row of dtile, and of the weights, in softmax's backward pass
        final float[] rowW;
        final Exp.Buffers[] exp;         // softmax's, one per thread the pass runs on
        final FloatBuffer qkvD;          // [N, 3W]: the q/k/v product, where the heads' products read it: the layer's
                                         // own buffer, or (where the layer keeps its output in an array too) one
                                         // that it writes there as well
        final boolean qkvDirect;         // whether qkvD is that layer's own buffer
        final FloatBuffer attD;          // [T, T] for BLAS; [B, H, T, T] for a decoder's window (heads at once)
        final FloatBuffer yD;            // [N, W]: the output as the heads' products write it; where a projection
                                         // follows, the output (kept: the projection's weight gradient reads it),
                                         // and in the backward pass its gradient, as the projection leaves it
        final FloatBuffer dqkvD;
        float[] qkv;                     // the input of the last forward pass, where the q/k/v layer keeps it in an
                                         // array (not qkvDirect): qkvD is then shared by the blocks

        /**
         * @param qkvOut    where the product before it leaves its [N, 3W] output for BLAS, to read it there instead of
         *                  copying it again ({@link Linear.Pass#directOutput}: in training and evaluation the layer's
         *                  output stays there, its own in each block); null otherwise
         * @param projected whether a projection follows that reads the output where the heads' products leave it
         *                  (yD): the output then stays there, and is not copied into an array (except in a window in
         *                  parts, whose projection is split by rows)
         */
        Attention(Shard s, Head[] heads, String owner, FloatBuffer qkvOut, boolean projected) {
            this.s = s;
            this.heads = heads;
            this.h = heads.length;
            this.hs = heads[0].headSize;
            this.t = s.time;
            this.w = h * hs;
            this.scale = (float) Math.pow(hs, -0.5);
            this.drop = new Dropout.Pass[h];
            for (int i = 0; i < h; i++) {
                drop[i] = heads[i].dropout.causalPass(s, t);
            }
            int n = s.rows;
            int a = s.batch * h * t * t;
            att = s.activations(owner, "att", a);
            boolean nativeOutput = projected && s.parts == 1;
            y = nativeOutput ? null : s.activations(owner, "y", n * w);
            tile = s.scratch(owner, "tile", t * t);
            dtile = s.gradientScratch(owner, "dtile", t * t);
            rowD = s.gradientScratch(owner, "rowD", t);
            rowW = s.gradientScratch(owner, "rowW", t);
            exp = new Exp.Buffers[Math.max(1, s.parts)];
            Arrays.setAll(exp, p -> new Exp.Buffers(t));
            qkvDirect = qkvOut != null;
            qkvD = qkvDirect ? qkvOut : s.directScratch(owner, "qkv", n * 3 * w);
            attD = s.directScratch(owner, "att", s.parts > 1 ? a : t * t);
            yD = nativeOutput ? s.directActivations(owner, "y", n * w) : s.directScratch(owner, "y", n * w);
            dqkvD = s.gradientDirectScratch(owner, "dqkv", n * 3 * w);
        }

        private int q(int b, int head) {      // where a sequence's head's queries start in the [N, 3W] matrix
            return b * t * 3 * w + head * hs;
        }

        private int a(int b, int head) {      // where a sequence's head's [T, T] attention weights start
            return (b * h + head) * t * t;
        }

        /** x [N, C] -> y [N, W]: the queries, keys and values from {@code qkvLayer}, then every head's attention. */
        float[] forward(Linear.Pass qkvLayer, float[] x) {
            if (qkvDirect) {   // the product is left in qkvD, the layer's own buffer
                return forward(qkvLayer.forward(x));
            }
            return forward(qkvLayer.forward(x, qkvD));   // written where the heads' products read it, and kept
        }

        /** qkv [N, 3W] -> y [N, W], with qkv in qkvD (qkv itself null where the layer keeps no array of it). */
        private float[] forward(float[] qkv) {
            this.qkv = qkv;
            int ld = 3 * w;
            if (s.parts > 1 && !s.training) {
                // A decoder's window: the heads in groups at once, each head's scores, softmax and sum on one thread.
                Parallel.run(s.parts, p -> {
                    for (int b = 0; b < s.batch; b++) {
                        for (int i = p * h / s.parts; i < (p + 1) * h / s.parts; i++) {
                            attend(b, i, exp[p]);
                        }
                    }
                });
                Sgemm.get(yD, y);
                return y;
            }
            drawMasks();
            int rows = causalBlockRows(t);
            for (int b = 0; b < s.batch; b++) {
                for (int i = 0; i < h; i++) {
                    int a = a(b, i);
                    int q = q(b, i);
                    // In blocks of query rows: rows r0..r1-1 see keys 0..r1-1 only, so their scores skip the keys
                    // after the block (the zeros softmax gives them are written, not computed).
                    for (int r0 = 0; r0 < t; r0 += rows) {
                        int r1 = Math.min(t, r0 + rows);
                        Sgemm.gemm(false, true, r1 - r0, r1, hs, scale, qkvD, q + r0 * ld, ld, qkvD, q + w, ld, 0f,
                                attD, r0 * t, t);                                  // wei = q k^T * scale
                        for (int r = r0; r < r1; r++) {
                            attD.get(r * t, att, a + r * t, r1);
                        }
                    }
                    causalSoftmax(att, (b * h + i) * t, (b * h + i + 1) * t, exp[0]);
                    putDropped(b, i);
                    for (int r0 = 0; r0 < t; r0 += rows) {
                        int r1 = Math.min(t, r0 + rows);
                        Sgemm.gemm(false, false, r1 - r0, hs, r1, 1f, attD, r0 * t, t, qkvD, q + 2 * w, ld, 0f,
                                yD, b * t * w + r0 * w + i * hs, w);               // out = dropout(wei) v
                    }
                }
            }
            if (y != null) {
                Sgemm.get(yD, y);
            }
            return y;
        }

        /** One sequence's head without dropout, start to end, in the decoder's [B, H, T, T] buffer (heads at once). */
        void attend(int b, int i, Exp.Buffers buffers) {
            int ld = 3 * w;
            int a = a(b, i);
            int q = q(b, i);
            // In blocks of query rows: rows r0..r1-1 see keys 0..r1-1 only (causality), so each block's two
            // products skip the keys after it.
            int rows = causalBlockRows(t);
            for (int r0 = 0; r0 < t; r0 += rows) {
                int r1 = Math.min(t, r0 + rows);
                Sgemm.gemm(false, true, r1 - r0, r1, hs, scale, qkvD, q + r0 * ld, ld, qkvD, q + w, ld, 0f,
                        attD, a + r0 * t, t);                                      // wei = q k^T * scale
                for (int r = r0; r < r1; r++) {
                    attD.get(a + r * t, att, a + r * t, r1);
                }
                causalSoftmax(att, (b * h + i) * t + r0, (b * h + i) * t + r1, buffers);
                for (int r = r0; r < r1; r++) {
                    attD.put(a + r * t, att, a + r * t, r1);
                }
                Sgemm.gemm(false, false, r1 - r0, hs, r1, 1f, attD, a + r0 * t, t, qkvD, q + 2 * w, ld, 0f,
                        yD, b * t * w + r0 * w + i * hs, w);                       // out = wei v
            }
        }

        /** Draws each head's dropout masks (training); whether anything is dropped. */
        private boolean drawMasks() {
            boolean any = false;
            for (Dropout.Pass d : drop) {
                any |= d.draw();
            }
            return any;
        }

        /** A sequence's head's attention weights after its dropout, into the tile that BLAS reads (attD from 0). */
        private void putDropped(int b, int i) {
            Dropout.Pass d = drop[i];
            int o = a(b, i);
            if (!d.dropped) {
                attD.put(0, att, o, t * t);
                return;
            }
            // Copied first, then scaled in place: a loop storing into one float array and reading another at another
            // index is not vectorised (see Sums). Only each row's weights up to its position: the rest are 0.
            System.arraycopy(att, o, tile, 0, t * t);
            for (int r = 0; r < t; r++) {
                d.apply(tile, r * t, b * t * t + r * t, r + 1);
            }
            attD.put(0, tile, 0, t * t);
        }

        /**
         * Softmax of each of rows r0..r1-1 of the [B, H, T, T] weights (one row per query) over the positions up to
         * its own; the later ones get weight 0.
         */
        private void causalSoftmax(float[] a, int r0, int r1, Exp.Buffers buffers) {
            for (int r = r0; r < r1; r++) {
                int o = r * t;
                int last = r % t;   // the query's position
                float inv = 1f / Exp.expShifted(a, o, last + 1, max(a, o, last + 1), buffers);
                for (int j = 0; j <= last; j++) {
                    a[o + j] *= inv;
                }
                Arrays.fill(a, o + last + 1, o + t, 0f);
            }
        }

        /**
         * dy [N, W] -> d qkv [N, 3W]. The products skip what causality makes zero, as the forward pass does: those
         * giving a row of the weights' or the scores' gradient stop at the row's block (rows r0..r1-1, keys 0..r1-1),
         * and those summing over query rows (the keys' and values' gradients) start at the block of their keys (keys
         * c0..c1-1 are seen by rows c0..T-1 only), reading the zeros above the diagonal that the tile holds. The
         * gradient of the queries, keys and values goes on to {@code qkvLayer}'s backward pass where it lies, in
         * native memory; returns that layer's dx.
         */
        float[] backward(Linear.Pass qkvLayer, float[] dy) {
            Sgemm.put(dy, yD);
            return backward(qkvLayer);
        }

        /** The same with dy [N, W] in {@link #yD} already (where the projection's backward pass leaves it). */
        float[] backward(Linear.Pass qkvLayer) {
            int ld = 3 * w;
            int rows = causalBlockRows(t);
            if (!qkvDirect) {
                Sgemm.put(qkv, qkvD);     // the direct buffer is shared between blocks: fill it again
            }
            for (int b = 0; b < s.batch; b++) {
                for (int i = 0; i < h; i++) {
                    int q = q(b, i);
                    int dyAt = b * t * w + i * hs;
                    for (int r0 = 0; r0 < t; r0 += rows) {
                        int r1 = Math.min(t, r0 + rows);
                        Sgemm.gemm(false, true, r1 - r0, r1, hs, 1f, yD, dyAt + r0 * w, w, qkvD, q + 2 * w, ld, 0f,
                                attD, r0 * t, t);                                  // d wei = dy v^T
                        for (int r = r0; r < r1; r++) {
                            attD.get(r * t, dtile, r * t, r1);
                        }
                    }
                    putDropped(b, i);
                    for (int c0 = 0; c0 < t; c0 += rows) {
                        int c1 = Math.min(t, c0 + rows);
                        Sgemm.gemm(true, false, c1 - c0, hs, t - c0, 1f, attD, c0 * t + c0, t, yD, dyAt + c0 * w, w,
                                0f, dqkvD, q + 2 * w + c0 * ld, ld);               // dv = dropout(wei)^T dy
                    }
                    softmaxBackward(b, i);
                    attD.put(0, dtile, 0, t * t);                                  // now the gradient of the scores
                    // scores = q k^T * scale: dq = d scores k * scale, dk = d scores^T q * scale
                    for (int r0 = 0; r0 < t; r0 += rows) {
                        int r1 = Math.min(t, r0 + rows);
                        Sgemm.gemm(false, false, r1 - r0, hs, r1, scale, attD, r0 * t, t, qkvD, q + w, ld, 0f,
                                dqkvD, q + r0 * ld, ld);
                        Sgemm.gemm(true, false, r1 - r0, hs, t - r0, scale, attD, r0 * t + r0, t, qkvD, q + r0 * ld,
                                ld, 0f, dqkvD, q + w + r0 * ld, ld);
                    }
                }
            }
            return qkvLayer.backward(dqkvD, null);
        }

        /**
         * In {@link #dtile}, a sequence's head's d wei (after dropout) -> d scores, row by row:
         * wei * (d wei - sum_j d wei_j * wei_j).
         */
        private void softmaxBackward(int b, int i) {
            Dropout.Pass d = drop[i];
            float[] dw = rowD;
            float[] w = rowW;
            for (int r = 0, o = a(b, i); r < t; r++, o += t) {
                int to = r * t;
                int n = r + 1;   // the weights after the query's own position are 0
                // The row in arrays of its own, so that the loops are vectorised (see Sums).
                System.arraycopy(dtile, to, dw, 0, n);
                System.arraycopy(att, o, w, 0, n);
                d.apply(dw, 0, b * t * t + to, n);
                float dot = Sums.dot(dw, w, n);
                for (int j = 0; j < n; j++) {
                    dw[j] = w[j] * (dw[j] - dot);
                }
                System.arraycopy(dw, 0, dtile, to, n);
                Arrays.fill(dtile, to + n, to + t, 0f);
            }
        }
    }

    // ------------------------------------------------------------------------------------- decoding: one position

    /**
     * The keys and values of the positions seen so far, per head: what makes decoding one position at a time cheap.
     *
     * <p>The keys are kept transposed, one array per component ([hs][block_size]), the values one array per position
     * ([block_size][hs]): a query's scores over every position are then passes of {@code wei[j] += q[d] k_d[j]} over
     * whole arrays, and the weighted sum of the values passes of {@code o[e] += a_j v_j[e]}, loops the JIT vectorises
     * (it does only when every array in a loop is indexed alike, see {@link Sums}). Kept as [block_size, hs] rows, a
     * score was a 64-term sum in one register and the values' sum ran value by value: one group of B's heads took
     * 17.8-18.1 us a layer, now 4.6 (a throwaway harness, three rounds; the same bits: each score and each output
     * still adds its terms in the same order).
     */
    static final class Cache {
        final float[][][] keys;   // per head: [hs][block_size], transposed
        final float[][][] values; // per head: [block_size][hs]
        // A step's output and each head group's buffers, reused from token to token: a step per token that allocated
        // them made garbage that, once a large model's heap has grown, lands on pages never touched before, each a
        // page fault (see Linear#step).
        final float[] out;        // [heads * hs]
        final float[][] wei;      // per group of heads: [block_size]
        final float[][] head;     // per group of heads: [hs], one head's output as it is summed
        final Exp.Buffers[] exp;  // per group of heads, for softmax
        final float[][] rows;     // per head: [FILL_ROWS, hs], keys on their way in (see Head#fill)

        Cache(int heads, int blockSize, int headSize) {
            keys = new float[heads][headSize][blockSize];
            values = new float[heads][blockSize][headSize];
            out = new float[heads * headSize];
            wei = new float[2][blockSize];
            head = new float[2][headSize];
            exp = new Exp.Buffers[]{new Exp.Buffers(blockSize), new Exp.Buffers(blockSize)};
            rows = new float[heads][FILL_ROWS * headSize];
        }

        /** Position pos's key and value of head h, from [hs] each at kAt and vAt in {@code from}. */
        void put(int h, int pos, float[] from, int kAt, int vAt) {
            float[][] k = keys[h];
            for (int d = 0; d < k.length; d++) {
                k[d][pos] = from[kAt + d];
            }
            System.arraycopy(from, vAt, values[h][pos], 0, k.length);
        }
    }

    public Cache cache(int blockSize) {
        return new Cache(1, blockSize, headSize);
    }

    /** x [C] at position pos -> out [hs]; this position's key and value join the cache. */
    public float[] step(Cache c, float[] x, int pos) {
        return attendStep(c, qkv.step(x), pos, 1, headSize);
    }

    /**
     * The largest of a[from..from+n-1], softmax's shift, by comparison: Math.max also orders -0 below +0 and passes a
     * NaN on, at twice the cost in a softmax of A's rows (3.6 against 4.4 ns a value in all, rows of 1 to 64; 2.4
     * against 2.6 up to 256). The weights come out the same either way: a shift of -0 or +0 leaves every score as it
     * is but -0 and +0 themselves, whose exponentials are both 1, and a row holding a NaN gives NaN weights.
     */
    static float max(float[] a, int from, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = from; j < from + n; j++) {
            float v = a[j];
            if (v > max) {
                max = v;
            }
        }
        return max;
    }

    /**
     * Fills a cache with the keys and values of positions 0..count-1, taken from a forward pass's [N, 3W] matrix of
     * queries, keys and values (a prefill: one matrix product for the whole context instead of a step per position).
     */
    static void fill(Cache c, float[] qkv, int count, int heads, int headSize) {
        fill(c, FloatBuffer.wrap(qkv), count, heads, headSize, 0, heads);
    }

    /**
     * The same for heads h0..h1-1 only (a decoder's window fills its caches on several threads), from an array or
     * from where a window's split products left them.
     */
    static void fill(Cache c, FloatBuffer qkv, int count, int heads, int headSize, int h0, int h1) {
        int w = heads * headSize;
        for (int h = h0; h < h1; h++) {
            float[] rows = c.rows[h];
            float[][] keys = c.keys[h];
            // The keys transposed FILL_ROWS positions at a time: their rows copied out together, then each
            // component's values written side by side (one store per position and component to scattered lines was
            // 4 % of B's window, all its blocks' caches filled).
            for (int p0 = 0; p0 < count; p0 += FILL_ROWS) {
                int p1 = Math.min(count, p0 + FILL_ROWS);
                for (int pos = p0; pos < p1; pos++) {
                    qkv.get(pos * 3 * w + w + h * headSize, rows, (pos - p0) * headSize, headSize);
                    qkv.get(pos * 3 * w + 2 * w + h * headSize, c.values[h][pos], 0, headSize);
                }
                for (int d = 0; d < headSize; d++) {
                    float[] k = keys[d];
                    for (int pos = p0; pos < p1; pos++) {
                        k[pos] = rows[(pos - p0) * headSize + d];
                    }
                }
            }
        }
    }

    /** How many positions {@link #fill} transposes at once: one cache line of each component's keys. */
    private static final int FILL_ROWS = 16;

    /**
     * One position's attention for H heads, from its queries, keys and values side by side ([3 W], as in
     * {@link Attention}): its keys and values join the cache, and its queries look at positions 0..pos.
     */
    static float[] attendStep(Cache c, float[] qkvRow, int pos, int heads, int headSize) {
        float[] out = c.out;      // the cache's own: read before the next step of this cache
        Arrays.fill(out, 0f);
        if (heads > 1 && (long) heads * headSize * (pos + 1) >= SPLIT_STEP_WORK) {
            // The heads in two groups at once: each head's sums are its own, so the split changes no bit.
            Parallel.run(2, p -> attendHeads(c, qkvRow, pos, heads, headSize, out, c.wei[p], c.head[p], c.exp[p],
                    p * heads / 2, (p + 1) * heads / 2));
        } else {
            attendHeads(c, qkvRow, pos, heads, headSize, out, c.wei[0], c.head[0], c.exp[0], 0, heads);
        }
        return out;
    }

    /**
     * From how many multiply-adds per product (heads x head_size x positions) a step's attention runs its heads on
     * two threads: B's six heads of 64 from position 21 on, A's four of 32 only at its last (63), T's never (below
     * this the handoff costs about what it saves). B's cached token: 2.48-2.85 -> 2.39-2.85 ms best of three runs
     * each (scripts/microbench/Decoding.java cached, alternating); the same bits either way.
     */
    static final int SPLIT_STEP_WORK = 8192;

    /**
     * {@link #attendStep} for heads h0..h1-1, into their columns of out; wei: [pos + 1] or longer, for the weights, o:
     * [hs], for a head's output. Each score adds q[d] k[d] over d in order from 0, and each output a_j v_j over j in
     * order from 0, as a loop over one score or one output would: four terms a pass, the passes vectorised (see
     * {@link Cache}).
     */
    private static void attendHeads(Cache c, float[] qkvRow, int pos, int heads, int headSize, float[] out,
                                    float[] wei, float[] o, Exp.Buffers buffers, int h0, int h1) {
        int w = heads * headSize;
        int n = pos + 1;
        float scale = (float) Math.pow(headSize, -0.5);
        for (int h = h0; h < h1; h++) {
            int q = h * headSize;
            c.put(h, pos, qkvRow, w + q, 2 * w + q);         // this position's key and value join the cache
            float[][] keys = c.keys[h];
            float[][] values = c.values[h];
            Arrays.fill(wei, 0, n, 0f);                     // wei = q k^T, for the positions 0..pos
            int d = 0;
            for (; d + 3 < headSize; d += 4) {
                float q0 = qkvRow[q + d], q1 = qkvRow[q + d + 1], q2 = qkvRow[q + d + 2], q3 = qkvRow[q + d + 3];
                float[] k0 = keys[d], k1 = keys[d + 1], k2 = keys[d + 2], k3 = keys[d + 3];
                for (int j = 0; j < n; j++) {
                    wei[j] = wei[j] + q0 * k0[j] + q1 * k1[j] + q2 * k2[j] + q3 * k3[j];
                }
            }
            for (; d < headSize; d++) {
                float q0 = qkvRow[q + d];
                float[] k0 = keys[d];
                for (int j = 0; j < n; j++) {
                    wei[j] = wei[j] + q0 * k0[j];
                }
            }
            for (int j = 0; j < n; j++) {
                wei[j] = wei[j] * scale;
            }
            float sum = Exp.expShifted(wei, 0, n, max(wei, 0, n), buffers);
            Arrays.fill(o, 0f);                              // o = softmax(wei) v
            int j = 0;
            for (; j + 3 < n; j += 4) {
                float a0 = wei[j] / sum, a1 = wei[j + 1] / sum, a2 = wei[j + 2] / sum, a3 = wei[j + 3] / sum;
                float[] v0 = values[j], v1 = values[j + 1], v2 = values[j + 2], v3 = values[j + 3];
                for (int e = 0; e < headSize; e++) {
                    o[e] = o[e] + a0 * v0[e] + a1 * v1[e] + a2 * v2[e] + a3 * v3[e];
                }
            }
            for (; j < n; j++) {
                float a0 = wei[j] / sum;
                float[] v0 = values[j];
                for (int e = 0; e < headSize; e++) {
                    o[e] = o[e] + a0 * v0[e];
                }
            }
            System.arraycopy(o, 0, out, q, headSize);
        }
    }
}
