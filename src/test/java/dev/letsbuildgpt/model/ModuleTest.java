package dev.letsbuildgpt.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each module's fast path against its own SameDiff definition, on the same weights: the forward values, the input's
 * gradient and every parameter's gradient equal SameDiff's automatic ones (SameDiff in double, so what differs is the
 * fast path's float32 rounding). With dropout, both draw the same masks from the same seed. And each module's
 * one-position decoding step against its forward pass.
 */
class ModuleTest {
    static final int B = 3;
    static final int T = 5;
    static final int C = 12;
    static final double TOLERANCE = 2e-5;   // relative to the norm; a wrong formula is off by far more

    interface Fast {
        float[] forward(float[] x);

        float[] backward(float[] dy);
    }

    static Fast of(Function<float[], float[]> forward, Function<float[], float[]> backward) {
        return new Fast() {
            public float[] forward(float[] x) {
                return forward.apply(x);
            }

            public float[] backward(float[] dy) {
                return backward.apply(dy);
            }
        };
    }

    static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    static INDArray nd(float[] a, long... shape) {
        return Nd4j.create(a, shape, 'c').castTo(DataType.DOUBLE);
    }

    static void assertClose(INDArray want, float[] got, String what) {
        INDArray g = Nd4j.create(got, want.shape(), 'c').castTo(DataType.DOUBLE);
        double norm = want.norm2Number().doubleValue();
        double diff = want.sub(g).norm2Number().doubleValue();
        assertTrue(norm > 1e-12, what + " is all zeros: the test would pass by computing nothing");
        assertTrue(diff <= TOLERANCE * norm, what + " differs by " + diff / norm + " (relative)");
    }

    /**
     * Runs a module both ways on a random input x [B*T, in] and a random upstream gradient r [B*T, out] (the loss is
     * sum(y * r)) and compares y, dL/dx and every parameter's gradient.
     */
    static void compare(Parameters p, int in, int out, boolean training, BiFunction<Graph, SDVariable, SDVariable> define,
                        Function<Shard, Fast> pass) {
        compare(p, B, T, in, out, training, define, pass);
    }

    /** The same on b sequences of t positions. */
    static void compare(Parameters p, int b, int t, int in, int out, boolean training,
                        BiFunction<Graph, SDVariable, SDVariable> define, Function<Shard, Fast> pass) {
        Random r = new Random(in * 31L + out);
        int n = b * t;
        float[] x = random(r, n * in);
        float[] dy = random(r, n * out);

        Graph g = new Graph(p, training ? Graph.Mode.TRAIN : Graph.Mode.EVAL, b, t, DataType.DOUBLE);
        // The input is a variable, not a placeholder: SameDiff 1.0.0-M2.1 leaves out the part of a placeholder's
        // gradient that flows through a reduction such as LayerNorm's mean (seen here: d input 20% off in a block).
        SDVariable y = define.apply(g, g.sd().var("x", nd(x, n, in)));
        g.sd().sum("loss", y.mul(g.input("r", n, out)));
        Map<String, INDArray> feed = Map.of("r", nd(dy, n, out));
        long seed = 99;
        INDArray yWant = g.run(feed, seed, y.name()).get(y.name());
        OutAndGrad want = g.gradients(feed, seed, "loss", "x");

        Shard s = new Shard(p, b, t, 0, true);
        s.mode(training, seed);
        Fast fast = pass.apply(s);
        for (int twice = 0; twice < 2; twice++) {   // a second pass must not see the first's leftovers
            s.grads.zero();
            assertClose(yWant, fast.forward(x.clone()), "forward");
            assertClose(want.getGradients().get("x"), fast.backward(dy.clone()), "d input");
            for (String name : p.names()) {
                assertTrue(want.getGradients().containsKey(name), name + " has no gradient in the graph");
                assertClose(want.getGradients().get(name), s.grads.named(name), "d " + name);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void linear(boolean bias) {
        Parameters p = new Parameters(1);
        Linear l = new Linear(p, "lin", C, 7, bias);
        compare(p, C, 7, false, l::define, s -> {
            Linear.Pass f = l.pass(s);
            return of(f::forward, f::backward);
        });
    }

    @Test
    void layerNorm() {
        Parameters p = new Parameters(2);
        LayerNorm ln = new LayerNorm(p, "ln", C);
        // Gain and bias away from 1 and 0, so that their part in the gradients is tested too.
        p.set("ln.weight", random(new Random(3), C));
        p.set("ln.bias", random(new Random(4), C));
        compare(p, C, C, false, ln::define, s -> {
            LayerNorm.Pass f = ln.pass(s);
            return of(f::forward, f::backward);
        });
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.0, 0.4})
    void head(double dropout) {
        Parameters p = new Parameters(3);
        Head h = new Head(p, "head", C, 4, dropout);
        compare(p, C, 4, true, h::define, s -> {
            Head.Pass f = h.pass(s);
            return of(f::forward, f::backward);
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void multiHeadAttention(boolean projection) {
        Parameters p = new Parameters(4);
        MultiHeadAttention mha = new MultiHeadAttention(p, "sa", C, 3, 4, projection, true, projection ? 0.3 : 0);
        compare(p, C, C, true, mha::define, s -> {
            MultiHeadAttention.Pass f = mha.pass(s);
            return of(f::forward, f::backward);
        });
    }

    /**
     * Long sequences, whose attention runs in blocks of query rows that skip the keys they cannot see (forward and
     * backward, {@link Head#causalBlockRows}): 200 positions make three uneven blocks, 128 two.
     */
    @ParameterizedTest
    @ValueSource(ints = {128, 200})
    void multiHeadAttentionInCausalBlocks(int t) {
        assertTrue(Head.causalBlockRows(t) < t, "the blocks are what this test is for");
        Parameters p = new Parameters(6);
        MultiHeadAttention mha = new MultiHeadAttention(p, "sa", C, 3, 4, true, true, 0.3);
        compare(p, 2, t, C, C, true, mha::define, s -> {
            MultiHeadAttention.Pass f = mha.pass(s);
            return of(f::forward, f::backward);
        });
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void feedForward(boolean inBlock) {
        Parameters p = new Parameters(5);
        FeedForward ff = inBlock ? FeedForward.block(p, "ffwd", C, true, 0.25) : FeedForward.single(p, "ffwd", C, true);
        compare(p, C, C, true, ff::define, s -> {
            FeedForward.Pass f = ff.pass(s);
            return of(f::forward, f::backward);
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"layernorm", "no layernorm", "dropout", "no residual", "neither"})
    void block(String kind) {
        Parameters p = new Parameters(6);
        GptConfig c = new GptConfig(Stage.GPT, 11, T, C, 3, 1, kind.equals("dropout") ? 0.2 : 0, true,
                !kind.equals("no residual") && !kind.equals("neither"));
        Block b = new Block(p, "blocks.0", c, !kind.equals("no layernorm") && !kind.equals("neither"));
        compare(p, C, C, true, b::define, s -> {
            Block.Pass f = b.pass(s);
            return of(x -> f.forward(x).clone(), f::backward);   // the pass works in place on the residual stream
        });
    }

    @Test
    void embedding() {
        Parameters p = new Parameters(7);
        Embedding e = new Embedding(p, "emb", 9, C);
        Random r = new Random(8);
        int n = B * T;
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i < 3 ? 4 : r.nextInt(9);   // a row read several times gets every reader's gradient
        }
        float[] dy = random(r, n * C);
        Graph g = new Graph(p, Graph.Mode.EVAL, B, T, DataType.DOUBLE);
        SDVariable y = e.define(g, g.sd().placeHolder("ids", DataType.INT32, n));
        g.sd().sum("loss", y.mul(g.input("r", n, C)));
        Map<String, INDArray> feed = Map.of("ids", Nd4j.createFromArray(ids), "r", nd(dy, n, C));
        Shard s = new Shard(p, B, T, 0, true);
        Embedding.Pass f = e.pass(s);
        assertClose(g.run(feed, 0, y.name()).get(y.name()), f.forward(ids), "rows");
        f.backward(dy);
        assertClose(g.gradients(feed, 0, "loss").getGradients().get("emb.weight"), s.grads.named("emb.weight"), "d table");
    }

    /**
     * Gradients are zeroed lazily, and a weight's first product after {@code zero()} sets its gradient (BLAS's beta 0)
     * instead of adding to it: stale values must not leak in, and a second use must add, not set.
     */
    @Test
    void aWeightsGradientIsSetAfterZeroingAndAddedToByALaterUse() {
        Parameters p = new Parameters(15);
        Linear l = new Linear(p, "lin", C, 7, true);
        Shard s = new Shard(p, B, T, 0, true);
        Random r = new Random(16);
        float[] x = random(r, B * T * C);
        float[] dy = random(r, B * T * 7);
        for (String name : java.util.List.of("lin.weight", "lin.bias")) {
            java.util.Arrays.fill(s.grads.of(p.parameter(name).tensor()), 123f);   // a last step's gradient
        }
        s.grads.zero();
        Linear.Pass f = l.pass(s);
        f.forward(x);
        f.backward(dy);
        Map<String, float[]> once = s.grads.byName();
        f.backward(dy);
        Map<String, float[]> twice = s.grads.byName();
        for (String name : once.keySet()) {
            for (int i = 0; i < once.get(name).length; i++) {
                float v = once.get(name)[i];
                assertTrue(Math.abs(v) < 100, name + " holds none of the stale values");
                assertEquals(2 * v, twice.get(name)[i], 1e-5 * Math.abs(v), name + ": the second use adds");
            }
        }
    }

    /** Weight tying: the output layer reads the embedding's table transposed, and both gradients reach the table. */
    @Test
    void aLinearTiedToAnEmbeddingSharesItsTable() {
        Parameters p = new Parameters(13);
        Embedding e = new Embedding(p, "wte", 9, C);
        Linear head = Linear.tiedTo(p, e, "lm_head", true);
        assertEquals(java.util.List.of("wte.weight", "lm_head.bias"), p.names());
        int n = B * T;
        Random r = new Random(14);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = r.nextInt(9);
        }
        float[] dy = random(r, n * 9);
        Graph g = new Graph(p, Graph.Mode.EVAL, B, T, DataType.DOUBLE);
        SDVariable y = head.define(g, e.define(g, g.sd().placeHolder("ids", DataType.INT32, n)));
        g.sd().sum("loss", y.mul(g.input("r", n, 9)));
        Map<String, INDArray> feed = Map.of("ids", Nd4j.createFromArray(ids), "r", nd(dy, n, 9));
        Shard s = new Shard(p, B, T, 0, true);
        Embedding.Pass fe = e.pass(s);
        Linear.Pass fh = head.pass(s);
        assertClose(g.run(feed, 0, y.name()).get(y.name()), fh.forward(fe.forward(ids)), "logits");
        fe.backward(fh.backward(dy));
        OutAndGrad want = g.gradients(feed, 0, "loss");
        assertClose(want.getGradients().get("wte.weight"), s.grads.named("wte.weight"), "d table, through both uses");
        assertClose(want.getGradients().get("lm_head.bias"), s.grads.named("lm_head.bias"), "d bias");
        float[] row = java.util.Arrays.copyOfRange(fe.forward(ids), 0, C);
        float[] stepped = head.step(row);
        float[] full = fh.forward(fe.forward(ids));
        for (int v = 0; v < 9; v++) {
            assertEquals(full[v], stepped[v], 1e-5, "step");
        }
    }

    @Test
    void dropoutDrawsTheSameMasksInTheGraphAndOnTheFastPathAndOnlyWhenTraining() {
        Dropout d = new Dropout("drop", 0.3);
        Parameters p = new Parameters(9);
        float[] x = random(new Random(10), B * T * C);
        Graph train = new Graph(p, Graph.Mode.TRAIN, B, T, DataType.DOUBLE);
        SDVariable y = d.define(train, train.input("x", B * T, C), B * T, C);
        INDArray want = train.run(Map.of("x", nd(x, B * T, C)), 5, y.name()).get(y.name());
        Shard s = new Shard(p, B, T, 0, false);
        Dropout.Pass f = d.pass(s, T * C);
        s.mode(true, 5);
        float[] got = f.forward(x.clone());   // in place
        assertClose(want, got, "dropped");
        int zeros = 0;
        for (int i = 0; i < got.length; i++) {
            if (got[i] == 0) {
                zeros++;
            } else {
                assertEquals(x[i] / 0.7f, got[i], 1e-5, "kept values are scaled by 1/(1-p)");
            }
        }
        assertEquals(0.3, (double) zeros / got.length, 0.08);
        got = got.clone();
        s.mode(true, 6);
        assertTrue(!java.util.Arrays.equals(got, f.forward(x.clone())), "another seed, other masks");
        s.mode(false, 5);
        assertTrue(f.forward(x) == x, "evaluation drops nothing");
        // A shard of sequences 1 and 2 draws what the whole batch draws for them.
        Shard part = new Shard(p, 2, T, 1, false);
        part.mode(true, 5);
        float[] tail = java.util.Arrays.copyOfRange(x, T * C, 3 * T * C);
        float[] partGot = d.pass(part, T * C).forward(tail.clone());
        assertTrue(java.util.Arrays.equals(java.util.Arrays.copyOfRange(got, T * C, 3 * T * C), partGot));
    }

    /**
     * A layer large enough that its step runs in two halves of its rows (on two threads, added at the end) gives what
     * the forward pass gives: 257 input rows, so the second half (129 rows) ends with rows that are not a group of
     * four; and 3 input rows (wide enough to be split), fewer than a group of four in all.
     */
    @Test
    void aLargeLayersSplitStepEqualsTheForwardPass() {
        for (int[] shape : new int[][]{{257, 130}, {3, 11_000}}) {
            int in = shape[0], out = shape[1];
            assertTrue((long) in * out >= Linear.SPLIT_STEP_WEIGHTS, "the layer is large enough to be split");
            Parameters p = new Parameters(13);
            Linear l = new Linear(p, "big", in, out, true);
            p.set("big.bias", random(new Random(14), out));
            Random r = new Random(15);
            float[] x = random(r, T * in);
            Shard s = new Shard(p, 1, T, 0, false);
            s.mode(false, 0);
            float[] forward = l.pass(s).forward(x);
            for (int t = 0; t < T; t++) {
                float[] got = l.step(java.util.Arrays.copyOfRange(x, t * in, (t + 1) * in));
                for (int j = 0; j < out; j++) {
                    assertEquals(forward[t * out + j], got[j], 1e-5, in + " x " + out + ", position " + t
                            + ", output " + j);
                }
            }
        }
    }

    /**
     * Attention's step with enough heads and positions runs its heads on two threads: from position 31 on here (four
     * heads of 64, 32 positions to look at), so positions 0-30 check the one-thread path and 31-39 the split one
     * against the forward pass.
     */
    @Test
    void aStepWhoseHeadsRunOnTwoThreadsEqualsTheForwardPass() {
        int heads = 4, hs = 64, c = heads * hs, t = 40;
        assertTrue(heads * hs * 31 < Head.SPLIT_STEP_WORK && heads * hs * 32 >= Head.SPLIT_STEP_WORK);
        Parameters p = new Parameters(16);
        MultiHeadAttention m = new MultiHeadAttention(p, "m", c, heads, hs, true, true, 0);
        float[] x = random(new Random(17), t * c);
        Shard s = new Shard(p, 1, t, 0, false);
        s.mode(false, 0);
        float[] forward = m.pass(s).forward(x);
        Head.Cache cache = m.cache(t);
        for (int pos = 0; pos < t; pos++) {
            float[] got = m.step(cache, java.util.Arrays.copyOfRange(x, pos * c, (pos + 1) * c), pos);
            for (int j = 0; j < c; j++) {
                assertEquals(forward[pos * c + j], got[j], 1e-5, "position " + pos + ", output " + j);
            }
        }
    }

    /**
     * Softmax subtracts each row's largest score before its exponentials ({@link Head#max}): without that, scores past
     * 88 overflow a float's e^x and the weights become NaN. The largest of rows of 1 to 40 values, wherever it lies,
     * and an attention (a forward pass and decoding steps) over scores in the thousands.
     */
    @Test
    void softmaxShiftsEachRowByItsLargestScore() {
        Random r = new Random(23);
        for (int n = 1; n <= 40; n++) {
            for (int at = 0; at < n; at++) {
                float[] a = new float[n + 6];
                for (int j = 0; j < a.length; j++) {
                    a[j] = (float) r.nextGaussian() * 50 - 100;
                }
                a[3 + at] = 1000f + n;
                a[2] = a[n + 3] = 5000f;   // just outside the row
                assertEquals(1000f + n, Head.max(a, 3, n), 0f, n + " values, the largest at " + at);
            }
        }
        int heads = 2, hs = 4, c = heads * hs, t = 9;
        Parameters p = new Parameters(24);
        MultiHeadAttention m = new MultiHeadAttention(p, "m", c, heads, hs, true, false, 0);
        float[] x = random(new Random(25), t * c);
        for (int i = 0; i < x.length; i++) {
            x[i] *= 3000;   // scores of the order of 10^5
        }
        Shard s = new Shard(p, 1, t, 0, false);
        s.mode(false, 0);
        float[] forward = m.pass(s).forward(x).clone();
        Head.Cache cache = m.cache(t);
        for (int pos = 0; pos < t; pos++) {
            float[] step = m.step(cache, java.util.Arrays.copyOfRange(x, pos * c, (pos + 1) * c), pos);
            for (int j = 0; j < c; j++) {
                assertTrue(Float.isFinite(forward[pos * c + j]) && Float.isFinite(step[j]),
                        "position " + pos + ", output " + j + ": " + forward[pos * c + j] + ", " + step[j]);
            }
        }
    }

    /**
     * A step sums its scores four key components at a time and its output four positions at a time, over a cache that
     * keeps the keys transposed ({@link Head.Cache}): with a head size and position counts that are not multiples of
     * four, the passes' remainders count too, in steps from an empty cache and in steps after a cache was filled from
     * a forward pass's keys and values (a prefill's {@link Head#fill}).
     */
    @Test
    void stepsWithAHeadSizeNotAMultipleOfFourEqualTheForwardPass() {
        int heads = 2, hs = 7, c = heads * hs, t = 11;
        Parameters p = new Parameters(18);
        MultiHeadAttention m = new MultiHeadAttention(p, "m", c, heads, hs, true, true, 0);
        float[] x = random(new Random(19), t * c);
        Shard s = new Shard(p, 1, t, 0, false);
        s.keepsOutputs = true;   // as a decoder's window: the q/k/v product in an array, for the caches
        s.mode(false, 0);
        MultiHeadAttention.Pass pass = m.pass(s);
        float[] forward = pass.forward(x).clone();
        float[] qkv = pass.qkv.forward(x).clone();   // [T, 3C]: every position's queries, keys and values
        for (int filled = 0; filled < t; filled++) {
            Head.Cache cache = m.cache(t);
            if (filled > 0) {
                Head.fill(cache, qkv, filled, heads, hs);
            }
            for (int pos = filled; pos < t; pos++) {
                float[] got = m.step(cache, java.util.Arrays.copyOfRange(x, pos * c, (pos + 1) * c), pos);
                for (int j = 0; j < c; j++) {
                    assertEquals(forward[pos * c + j], got[j], 1e-5, filled + " positions filled, position " + pos
                            + ", output " + j);
                }
            }
        }
    }

    /** Decoding position by position with a cache gives what the forward pass gives at each position. */
    @ParameterizedTest
    @ValueSource(strings = {"head", "mha", "block", "block without layernorm", "block without residual", "ffwd",
            "layernorm", "linear"})
    void stepsEqualTheForwardPassAtEveryPosition(String kind) {
        Parameters p = new Parameters(11);
        GptConfig c = new GptConfig(Stage.GPT, 11, T, C, 3, 1, 0, true);
        Random r = new Random(12);
        float[] x = random(r, T * C);
        Shard s = new Shard(p, 1, T, 0, false);
        s.mode(false, 0);
        float[] forward;
        java.util.function.BiFunction<float[], Integer, float[]> step;
        switch (kind) {
            case "head" -> {
                Head h = new Head(p, "h", C, C, 0);
                forward = h.pass(s).forward(x);
                Head.Cache cache = h.cache(T);
                step = (row, pos) -> h.step(cache, row, pos);
            }
            case "mha" -> {
                MultiHeadAttention m = new MultiHeadAttention(p, "m", C, 3, 4, true, true, 0);
                forward = m.pass(s).forward(x);
                Head.Cache cache = m.cache(T);
                step = (row, pos) -> m.step(cache, row, pos);
            }
            case "block", "block without layernorm", "block without residual" -> {
                GptConfig bc = kind.equals("block without residual") ? new GptConfig(Stage.GPT, 11, T, C, 3, 1, 0, true,
                        false) : c;
                Block b = new Block(p, "b", bc, !kind.equals("block without layernorm"));
                forward = b.pass(s).forward(x.clone());
                Head.Cache cache = b.cache(T);
                step = (row, pos) -> b.step(cache, row, pos);
            }
            case "ffwd" -> {
                FeedForward f = FeedForward.block(p, "f", C, true, 0);
                forward = f.pass(s).forward(x);
                step = (row, pos) -> f.step(row);
            }
            case "layernorm" -> {
                LayerNorm ln = new LayerNorm(p, "ln", C);
                p.set("ln.weight", random(r, C));
                forward = ln.pass(s).forward(x);
                step = (row, pos) -> ln.step(row);
            }
            default -> {
                Linear l = new Linear(p, "l", C, C, true);
                forward = l.pass(s).forward(x);
                step = (row, pos) -> l.step(row);
            }
        }
        for (int t = 0; t < T; t++) {
            float[] got = step.apply(java.util.Arrays.copyOfRange(x, t * C, (t + 1) * C), t);
            for (int j = 0; j < C; j++) {
                assertEquals(forward[t * C + j], got[j], 1e-5, kind + " position " + t);
            }
        }
    }
}
