package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * {@code nn.Linear}: {@code y = x W + b}. The weight is stored [in, out] (PyTorch stores its transpose) so that the
 * forward pass is one plain matrix product of the [N, in] activations, one row per position. A layer can also use
 * another module's [out, in] matrix as its weight, transposed: weight tying ({@link #tiedTo}).
 */
public final class Linear {
    public final String name;
    public final int in;
    public final int out;
    final Parameters.Parameter weight;
    final Parameters.Parameter bias;   // null without bias
    final boolean transposed;          // the weight is stored [out, in]

    /** A layer with weights of its own, initialised as PyTorch does: uniform in +-1/sqrt(in). */
    public Linear(Parameters p, String name, int in, int out, boolean bias) {
        this(name, p.add(name + ".weight", in, out), bias ? p.add(name + ".bias", 0, out) : null);
        p.markLinearWeight(weight);
        double bound = 1 / Math.sqrt(in);
        p.uniform(weight, bound);
        if (this.bias != null) {
            p.uniform(this.bias, bound);
        }
    }

    /** A layer over a given weight (and bias): a block of a larger tensor, as a head's key inside attention. */
    Linear(String name, Parameters.Parameter weight, Parameters.Parameter bias) {
        this(name, weight, bias, false);
    }

    private Linear(String name, Parameters.Parameter weight, Parameters.Parameter bias, boolean transposed) {
        this.name = name;
        this.weight = weight;
        this.bias = bias;
        this.transposed = transposed;
        this.in = transposed ? weight.cols() : weight.rows();
        this.out = transposed ? weight.rows() : weight.cols();
    }

    /**
     * Weight tying (nanoGPT's {@code wte.weight = lm_head.weight}): a layer from an embedding's width to its number of
     * rows whose weight is the embedding's table, transposed, so that both learn one matrix; a bias of its own if asked.
     */
    public static Linear tiedTo(Parameters p, Embedding e, String name, boolean bias) {
        Linear l = new Linear(name, e.weight, bias ? p.add(name + ".bias", 0, e.num) : null, true);
        if (l.bias != null) {
            p.uniform(l.bias, 1 / Math.sqrt(e.dim));
        }
        return l;
    }

    // ------------------------------------------------------------------------------ SameDiff: the reference definition

    /** x: [N, in] -> [N, out] */
    public SDVariable define(Graph g, SDVariable x) {
        SDVariable y = g.sd().mmul(x, g.param(weight), false, transposed, false);
        return bias == null ? y : y.add(g.param(bias));
    }

    // --------------------------------------------------------------------- fast path: forward and backward, on the CPU

    public Pass pass(Shard s) {
        return pass(s, false);
    }

    /**
     * @param readByProducts whether only matrix products read this layer's output (attention's queries, keys and
     *                       values): it then stays in native memory, where they read it, and is never copied into a
     *                       Java array, except where a decoder's window keeps it for its caches or splits the pass
     */
    Pass pass(Shard s, boolean readByProducts) {
        if (!weight.isWhole()) {
            throw new IllegalStateException(name + " is part of a larger weight; its owner computes it");
        }
        return new Pass(s, readByProducts && s.parts == 1 && !s.keepsOutputs);
    }

    /** One shard's forward and backward pass. */
    public final class Pass {
        final Shard s;
        final float[] y;      // [N, out]; null where the output stays in native memory (yD) only
        final float[] dx;     // [N, in] (shared with this layer in the other blocks; none without gradients)
        float[] x;            // the input of the last forward pass: the weight's gradient needs it
        FloatBuffer xIn;      // the same where it was in native memory only (x null): attention's output
        final FloatBuffer xD;  // a decoder's window: x and y as BLAS reads them (see Sgemm#gemmRows); null otherwise
        final FloatBuffer yD;  // a window in parts: where its split products leave y (kept as y is: Shard#activations);
                               // without y, where the output is (the bias added); null otherwise
        final FloatBuffer[] sumsD;  // a decoder's window split by inputs: each part's own sum [N, out] (forwardInputs)
        final float[] sum;          // one of them, read back to be added (sumInputs)

        Pass(Shard s, boolean nativeOutput) {
            this.s = s;
            this.y = nativeOutput ? null : s.activations(name, "y", s.rows * out);
            this.dx = s.gradientScratch(name, "dx", s.rows * in);
            this.xD = s.parts > 1 ? s.directScratch(name, "x", s.rows * in) : null;
            this.yD = s.parts > 1 || nativeOutput ? s.directActivations(name, "yD", s.rows * out) : null;
            this.sumsD = new FloatBuffer[s.parts > 1 ? s.parts : 0];
            for (int p = 0; p < sumsD.length; p++) {
                sumsD[p] = s.directScratch(name, "sum" + p, s.rows * out);
            }
            this.sum = s.parts > 1 ? s.scratch(name, "sum", s.rows * out) : null;
        }

        /**
         * x [N, in] -> y [N, out]; keeps a reference to x, which must not change before {@link #backward}. Where the
         * output stays in native memory only, it is left in yD ({@link #directOutput}) and this returns null.
         */
        public float[] forward(float[] x) {
            if (s.parts > 1) {   // a decoder's window: the rows in ranges, at once
                s.inRowRanges((r0, r1) -> forward(x, r0, r1));
                return y;
            }
            if (y == null) {
                return forward(x, yD);   // into yD only: there is no array to copy it to
            }
            this.x = x;
            // The product added to rows of the bias, in BLAS: no pass of its own over y.
            Sgemm.gemmOnRows(transposed, s.rows, out, in, x, s.directWeight(weight.tensor()), biasValues(), biasAt(),
                    y);
            return y;
        }

        /**
         * The same (not in a decoder's window), the product also left in {@code into}, a direct [N, out] buffer where
         * the next products read it in place (attention's queries, keys and values): no second copy to native memory.
         * Without y, only there.
         */
        float[] forward(float[] x, FloatBuffer into) {
            this.x = x;
            Sgemm.gemmOnRows(transposed, s.rows, out, in, x, s.directWeight(weight.tensor()), biasValues(), biasAt(),
                    into, y);
            return y;
        }

        /**
         * The same with x in a direct buffer (at 0) only, as attention leaves its output: BLAS reads it there, in
         * this product and in the weight's gradient, so it must not change before {@link #backward} has computed that.
         */
        float[] forward(FloatBuffer x) {
            this.x = null;
            this.xIn = x;
            Sgemm.gemmOnRows(transposed, s.rows, out, in, x, s.directWeight(weight.tensor()), biasValues(), biasAt(),
                    y);
            return y;
        }

        /** The bias's tensor and where the bias starts in it, for {@link Sgemm#gemmOnRows}: null and 0 without one. */
        private float[] biasValues() {
            return bias == null ? null : bias.tensor().data;
        }

        private int biasAt() {
            return bias == null ? 0 : bias.index(0, 0);
        }

        /** Rows r0..r1-1 of the forward pass, of a decoder's window (through direct buffers, on any thread). */
        float[] forward(float[] x, int r0, int r1) {
            this.x = x;
            Sgemm.gemmRows(r0, r1, transposed, out, in, x, s.directWeight(weight.tensor()), y, xD, yD);
            addBias(r0, r1);
            return y;
        }

        // A decoder's window, split between threads by the layer's outputs or by its inputs (Block.Pass#forwardInParts):
        // every thread's product then has all of the window's rows, which BLAS runs faster than half of them (A's
        // [64, 128] x [128, 384]: 53 GFLOP/s on 32 rows, 69 on 64 rows and half the columns, one core).

        /** Rows r0..r1-1 of x [N, in] into the buffer the split products read (xD). */
        void input(float[] x, int r0, int r1) {
            xD.put(r0 * in, x, r0 * in, (r1 - r0) * in);
        }

        /** Output columns c0..c1-1 of x W, from xD into the same columns of yD, without the bias: a thread's share. */
        void forwardColumns(int c0, int c1) {
            Sgemm.gemm(false, false, s.rows, c1 - c0, in, 1f, xD, 0, in, weightD(), c0, out, 0f, yD, c0, out);
        }

        /**
         * Columns c0..c1-1 of yD, the bias added, into {@code to} [N, c1 - c0]: what {@link #forwardColumns} computed,
         * for Java to change and {@link #putColumns} to put back. An array of the thread's own, not y: two threads
         * writing column ranges of one array would share the cache lines at the ranges' edges.
         */
        void columns(int c0, int c1, float[] to) {
            float[] b = biasValues();
            int at = biasAt();
            int n = c1 - c0;
            for (int r = 0, o = 0; r < s.rows; r++, o += n) {
                yD.get(r * out + c0, to, o, n);
                if (b != null) {
                    for (int j = 0; j < n; j++) {
                        to[o + j] += b[at + c0 + j];
                    }
                }
            }
        }

        /** The reverse: {@code from} [N, c1 - c0] into columns c0..c1-1 of yD, where the next split product reads them. */
        void putColumns(int c0, int c1, float[] from) {
            int n = c1 - c0;
            for (int r = 0, o = 0; r < s.rows; r++, o += n) {
                yD.put(r * out + c0, from, o, n);
            }
        }

        /**
         * A thread's share when the layer is split by its inputs: columns k0..k1-1 of x (a direct [N, in] buffer, this
         * layer's input as the layer before left it) times rows k0..k1-1 of W, into part {@code p}'s own sum. The
         * parts are added, in order, by {@link #sumInputs}.
         */
        void forwardInputs(FloatBuffer x, int k0, int k1, int p) {
            Sgemm.gemm(false, false, s.rows, out, k1 - k0, 1f, x, k0, in, weightD(), k0 * out, out, 0f, sumsD[p], 0,
                    out);
        }

        /** Rows r0..r1-1 of y = the parts' sums of {@link #forwardInputs}, added in part order, plus the bias. */
        float[] sumInputs(int r0, int r1) {
            int from = r0 * out;
            int n = (r1 - r0) * out;
            sumsD[0].get(from, y, from, n);
            for (int p = 1; p < sumsD.length; p++) {
                sumsD[p].get(from, sum, from, n);
                for (int i = from; i < from + n; i++) {
                    y[i] += sum[i];
                }
            }
            addBias(r0, r1);
            return y;
        }

        private FloatBuffer weightD() {
            if (transposed) {
                throw new IllegalStateException(name + ": a tied layer's products are not split");
            }
            return s.directWeight(weight.tensor());
        }

        /**
         * Where the forward pass leaves y as BLAS wrote it, for a next product to read in place (attention reads its
         * queries, keys and values there): a pass whose output stays in native memory, or a decoder's window in parts
         * without a bias; null when that is not y (a window's bias is added after) or there is none.
         */
        FloatBuffer directOutput() {
            return y == null || bias == null ? yD : null;
        }

        private void addBias(int r0, int r1) {
            if (bias == null) {
                return;
            }
            float[] b = bias.tensor().data;
            int at = bias.index(0, 0);
            for (int r = r0; r < r1; r++) {
                int o = r * out;
                for (int j = 0; j < out; j++) {
                    y[o + j] += b[at + j];
                }
            }
        }

        /** dy [N, out] -> dx [N, in]; adds x^T dy to the weight's gradient and the column sums of dy to the bias's. */
        public float[] backward(float[] dy) {
            return backward(Sgemm.stage(dy, s.rows * out), dy);   // copied to native memory once, for both products
        }

        /**
         * The same with dy [N, out] in a direct buffer (at 0), where both products read it: as attention leaves its
         * queries', keys' and values' gradient. Its array, {@code dy}, is read only for a bias, and may be null.
         */
        float[] backward(FloatBuffer dyD, float[] dy) {
            weightGradients(dyD, dy);
            Sgemm.gemm(false, !transposed, s.rows, in, out, 1f, dyD, s.directWeight(weight.tensor()), 0f, dx);
            return dx;
        }

        /**
         * The same with dx [N, in] left in a direct buffer (at 0) instead of an array, for the next products to read
         * there (attention's, after its projection).
         */
        void backward(float[] dy, FloatBuffer dxD) {
            FloatBuffer dyD = Sgemm.stage(dy, s.rows * out);
            weightGradients(dyD, dy);
            Sgemm.gemm(false, !transposed, s.rows, in, out, 1f, dyD, 0, out, s.directWeight(weight.tensor()), 0,
                    transposed ? in : out, 0f, dxD, 0, in);
        }

        /** Adds x^T dy to the weight's gradient and the column sums of dy to the bias's; dy's array may be null. */
        private void weightGradients(FloatBuffer dyD, float[] dy) {
            if (bias != null && dy == null) {
                dy = s.scratch(name, "dy", s.rows * out);
                dyD.get(0, dy, 0, s.rows * out);
            }
            // The weight's gradient is set, not added to, while it is still zero (the common case: a weight with one
            // use a pass): BLAS then does not read it, and it is not copied to native memory first.
            Parameters.Tensor t = weight.tensor();
            boolean set = weight.isWhole() && s.grads.isZero(t);
            float[] dw = set ? s.grads.overwrite(t) : s.grad(t);
            float beta = set ? 0f : 1f;
            if (x == null) {   // x in native memory
                if (transposed) {
                    Sgemm.gemm(true, false, out, in, s.rows, 1f, dyD, xIn, beta, dw);
                } else {
                    Sgemm.gemm(true, false, in, out, s.rows, 1f, xIn, dyD, beta, dw);
                }
            } else if (transposed) {
                Sgemm.gemm(true, false, out, in, s.rows, 1f, dyD, x, beta, dw);   // (x^T dy)^T
            } else {
                Sgemm.gemm(true, false, in, out, s.rows, 1f, x, dyD, beta, dw);
            }
            if (bias != null) {   // each row of dy copied out first, so that the JIT vectorises the sum (see Sums)
                float[] db = s.grad(bias.tensor());
                float[] row = new float[out];
                for (int r = 0; r < s.rows; r++) {
                    System.arraycopy(dy, r * out, row, 0, out);
                    for (int j = 0; j < out; j++) {
                        db[j] += row[j];
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------- decoding: one position

    /**
     * Per thread, this layer's step output and the sum of its second half (see {@link #step}), reused from token to
     * token: what a step returns is overwritten by this layer's next step on the thread. Allocating them made about
     * 230 KB of garbage a token on the gpt preset; once training has grown the heap to gigabytes, the young
     * generation is as large, so that garbage kept landing on pages never touched before, each a page fault (about
     * 3 ms per MB here): B's cached token took 2.0 ms in the benchmark after 4 s of sampling, 1.1-1.3 ms in a fresh
     * process, and the process's resident peak grew by 0.8 GB.
     */
    private final ThreadLocal<float[][]> stepBuffers = ThreadLocal.withInitial(() -> new float[2][]);

    /** Each thread's four row copies for {@link #step} (reused: a step per layer per token would make much garbage). */
    private static final ThreadLocal<float[][]> STEP_ROWS = ThreadLocal.withInitial(() -> new float[4][0]);

    /**
     * The weights, in floats, from which a step is split in two halves of W's rows on two threads: a cached step
     * reads every weight once for two flops each, so it runs at the speed memory streams, and two threads each
     * streaming one contiguous half read faster than one (29.7 against 18.1 GB/s at best on this project's 2-core
     * machine; two threads taking half of every row's columns were slower than one, 13.2:
     * scripts/microbench/StreamBandwidth.java). A cached token (scripts/microbench/Decoding.java cached, three
     * alternating runs each): B 3.8 -> 2.2-2.4 ms, A 0.13-0.16 -> 0.10-0.12 ms. From 16K weights on, A gained less
     * and T's 16K-weight layers lost: the handoff costs more than small halves save.
     * Fixed by the layer's size, not by the machine, so that a model's steps add in the same order everywhere (with
     * one thread, the halves run one after the other).
     */
    static final int SPLIT_STEP_WEIGHTS = 1 << 15;

    /**
     * x [in] -> y [out], accumulated row by row of W: y += x[i] W[i, :], four rows at a time. Each row is copied to
     * an array of its own first: the JIT vectorises {@code y[j] += x * w[j]} only when both arrays are indexed
     * alike, not with W's row offset ({@code w[row + j]}), and the copies cost less than they save (4-5x faster at
     * these sizes). Four rows per pass spare y's loads and stores. A large W is done in two halves of its rows at
     * once, the second half's sum added to the first's at the end ({@link #SPLIT_STEP_WEIGHTS}).
     */
    public float[] step(float[] x) {
        float[] w = weight.tensor().data;
        float[][] buffers = stepBuffers.get();
        if (buffers[0] == null) {
            buffers[0] = new float[out];
            buffers[1] = new float[out];
        }
        float[] y = buffers[0];
        if (bias == null) {
            Arrays.fill(y, 0f);
        } else {
            bias.gather(bias.tensor().data, y);
        }
        if (transposed) {
            for (int j = 0; j < out; j++) {
                int row = weight.index(j, 0);
                float sum = 0;
                for (int i = 0; i < in; i++) {
                    sum += w[row + i] * x[i];
                }
                y[j] += sum;
            }
            return y;
        }
        if ((long) in * out < SPLIT_STEP_WEIGHTS) {
            accumulate(x, y, 0, in);
            return y;
        }
        int half = Math.min(in, (in / 2 + 3) & ~3);   // a multiple of four (or all): rows grouped as one pass would
        float[] second = buffers[1];
        Arrays.fill(second, 0f);
        Parallel.run(2, p -> {
            if (p == 0) {
                accumulate(x, y, 0, half);
            } else {
                accumulate(x, second, half, in);
            }
        });
        for (int j = 0; j < out; j++) {
            y[j] += second[j];
        }
        return y;
    }

    /** y += x[i] W[i, :] for rows i0..i1-1 of W, four at a time (see {@link #step}). */
    private void accumulate(float[] x, float[] y, int i0, int i1) {
        float[] w = weight.tensor().data;
        float[][] rows = STEP_ROWS.get();
        if (rows[0].length < out) {
            for (int r = 0; r < 4; r++) {
                rows[r] = new float[out];
            }
        }
        float[] w0 = rows[0], w1 = rows[1], w2 = rows[2], w3 = rows[3];
        int i = i0;
        for (; i + 3 < i1; i += 4) {
            float x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
            System.arraycopy(w, weight.index(i, 0), w0, 0, out);
            System.arraycopy(w, weight.index(i + 1, 0), w1, 0, out);
            System.arraycopy(w, weight.index(i + 2, 0), w2, 0, out);
            System.arraycopy(w, weight.index(i + 3, 0), w3, 0, out);
            for (int j = 0; j < out; j++) {
                y[j] = y[j] + x0 * w0[j] + x1 * w1[j] + x2 * w2[j] + x3 * w3[j];
            }
        }
        for (; i < i1; i++) {
            float xi = x[i];
            System.arraycopy(w, weight.index(i, 0), w0, 0, out);
            for (int j = 0; j < out; j++) {
                y[j] += xi * w0[j];
            }
        }
    }
}
