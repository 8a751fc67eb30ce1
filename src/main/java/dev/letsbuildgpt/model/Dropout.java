package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * {@code nn.Dropout}, inverted: during training each value is zeroed with probability p and the rest are scaled by
 * 1/(1-p), so that evaluation, which drops nothing and scales nothing, sees activations of the same expected size.
 * It keeps a large model from leaning on any one path through it (the lecture adds it when it scales up).
 *
 * <p>The masks are drawn in Java, one stream per sequence of the batch, seeded by the step's seed, this dropout's
 * name and the sequence's place in the batch. So a seed means the same masks whichever way the batch is split into
 * shards, on the fast path and in the SameDiff graph alike, and a resumed run draws what an uninterrupted one would.
 */
public final class Dropout {
    public final String name;
    public final double p;
    final float keepScale;
    /** nextDouble() >= p  <=>  (nextLong() >>> 11) >= p * 2^53, rounded up: the same test on the 53 bits it keeps. */
    private final long threshold;

    public Dropout(String name, double p) {
        this.name = name;
        this.p = p;
        this.keepScale = (float) (1 / (1 - p));
        this.threshold = (long) Math.ceil(p * 0x1p53);
    }

    /** Whether this dropout does anything when training (p > 0). */
    public boolean active() {
        return p > 0;
    }

    // ------------------------------------------------------------------------------ SameDiff: the reference definition

    /**
     * x times a mask of 0s and 1/(1-p)s fed as a placeholder ({@code name.mask}) of the given shape, whose first
     * dimension runs over sequences (as [B, T, T]) or over their positions (as [B*T, C]); outside training, x itself.
     */
    public SDVariable define(Graph g, SDVariable x, long... shape) {
        if (!g.training() || !active()) {
            return x;
        }
        return x.mul(name, g.dropoutMask(this, shape));
    }

    /** The masks of a whole batch of {@code batch} sequences, {@code perSequence} values each, as 0 or 1/(1-p). */
    float[] mask(long seed, int batch, int perSequence) {
        byte[] keep = new byte[batch * perSequence];
        draw(keep, seed, 0, batch, perSequence, new long[RUN]);
        float[] m = new float[keep.length];
        for (int i = 0; i < m.length; i++) {
            m[i] = keep[i] * keepScale;
        }
        return m;
    }

    /** 1 (keep) or 0 (drop) for each value of sequences first .. first + batch - 1 of the batch. */
    private void draw(byte[] keep, long seed, int first, int batch, int perSequence, long[] run) {
        for (int b = 0; b < batch; b++) {
            draw(keep, b * perSequence, stream(seed, first + b), 1, perSequence, run);
        }
    }

    /**
     * The same for attention weights, [T, T] per sequence, drawing only those a position can see (column <= row):
     * the others multiply weights that are 0. Value k of a sequence's stream does not depend on the ones before it,
     * so the values drawn are those {@link #draw} draws at the same places.
     */
    private void drawCausal(byte[] keep, long seed, int first, int batch, int t, long[] run) {
        for (int b = 0; b < batch; b++) {
            long s = stream(seed, first + b);
            for (int row = 0; row < t; row++) {
                draw(keep, (b * t + row) * t, s, (long) row * t + 1, row + 1, run);
            }
        }
    }

    /**
     * keep[at + j] = whether value k + j (from 1) of the stream {@code new SplittableRandom(s)} is kept, for j below n:
     * whether its {@code nextDouble()} is at least p. Written out (SplittableRandom is SplitMix64: value k is
     * mix64(s + k * gamma), and nextDouble() its top 53 bits times 2^-53, so the comparison is exact on those bits),
     * because the object draws one value after another, and a causal mask needs only half of them (DropoutTest checks
     * it against SplittableRandom). In runs of up to {@link #RUN} values through {@code run}: a loop over arrays
     * indexed alike, with the test written as arithmetic (the sign of the difference), is vectorised by the JIT
     * where the CPU multiplies longs in vectors (AVX-512); storing bytes is not, so that is a loop of its own. 0.6-0.8
     * ns a value against 1.9-2.4 value by value over [256, 256] causal masks (scripts/microbench/DropoutMasks.java
     * causal, AMD EPYC with AVX-512, 2026-12-06).
     */
    private void draw(byte[] keep, int at, long s, long k, int n, long[] run) {
        for (int done = 0; done < n; done += RUN) {
            int m = Math.min(RUN, n - done);
            long base = s + (k + done) * GOLDEN_GAMMA;   // value k + done + j is mix64(base + j * gamma)
            for (int j = 0; j < m; j++) {
                long z = base + GAMMAS[j];
                z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
                z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
                z = z ^ (z >>> 31);
                run[j] = ((z >>> 11) - threshold) >>> 63;   // 1 when below the threshold (both below 2^53): dropped
            }
            for (int j = 0; j < m; j++) {
                keep[at + done + j] = (byte) (1 - run[j]);
            }
        }
    }

    /** SplittableRandom's increment for a generator made from a seed alone. */
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;

    /** How many values {@link #draw} draws in one go, and j * gamma for each j below it. */
    private static final int RUN = 256;
    private static final long[] GAMMAS = new long[RUN];

    static {
        for (int j = 0; j < RUN; j++) {
            GAMMAS[j] = j * GOLDEN_GAMMA;
        }
    }

    long stream(long seed, int sequence) {   // a sequence's stream of masks (package-private for DropoutTest)
        return (seed * 0x9E3779B97F4A7C15L + name.hashCode()) * 0xBF58476D1CE4E5B9L + sequence;
    }

    // --------------------------------------------------------------------- fast path: forward and backward, on the CPU

    /** @param perSequence values per sequence of the activation it drops (T*C, or T*T for attention weights) */
    public Pass pass(Shard s, int perSequence) {
        return new Pass(s, perSequence, 0);
    }

    /**
     * A dropout on causal attention weights, [T, T] per sequence: it draws only the weights a position can see; the
     * others stay 0 (dropped), which changes nothing, as the weights they multiply are 0.
     */
    Pass causalPass(Shard s, int t) {
        return new Pass(s, t * t, t);
    }

    /** One shard's forward and backward pass: the mask of the last forward pass, and the buffers. */
    public final class Pass {
        final Shard s;
        final int perSequence;
        final int causalT;    // T for attention weights drawn below the diagonal only; 0: every value
        byte[] keep;          // [batch * perSequence], drawn by each training forward pass
        final long[] run = new long[RUN];   // what draw works in
        boolean dropped;      // whether the last forward pass dropped anything
        final float[] dx;

        Pass(Shard s, int perSequence, int causalT) {
            this.s = s;
            this.perSequence = perSequence;
            this.causalT = causalT;
            this.dx = active() ? s.gradientScratch(name, "dx", s.batch * perSequence) : null;
        }

        /** Draws this step's masks (training) or none (evaluation); returns whether anything is dropped. */
        public boolean draw() {
            dropped = s.training && active();
            if (dropped) {
                if (keep == null) {
                    keep = new byte[s.batch * perSequence];
                }
                if (causalT > 0) {
                    drawCausal(keep, s.dropoutSeed, s.firstSequence, s.batch, causalT, run);
                } else {
                    Dropout.this.draw(keep, s.dropoutSeed, s.firstSequence, s.batch, perSequence, run);
                }
            }
            return dropped;
        }

        /**
         * x -> x * mask, in place (the modules that drop hand it a buffer that nothing else reads: a projection's
         * output). Draws the masks first.
         */
        public float[] forward(float[] x) {
            draw();
            apply(x, 0, 0, x.length);
            return x;
        }

        /** The gradient goes back through the values that were kept, scaled as they were. */
        public float[] backward(float[] dOut) {
            if (!dropped) {
                return dOut;
            }
            for (int i = 0; i < dx.length; i++) {
                dx[i] = dOut[i] * (keep[i] * keepScale);
            }
            return dx;
        }

        /**
         * x[at .. at + n) times the mask's factors (0 or 1/(1-p)) of the shard's values from .. from + n, in place;
         * nothing when nothing was dropped. The mask is bytes, so the JIT vectorises this whatever the offsets (a float
         * array beside x might be x itself: see Sums).
         */
        void apply(float[] x, int at, int from, int n) {
            if (!dropped) {
                return;
            }
            for (int j = 0; j < n; j++) {
                x[at + j] *= keep[from + j] * keepScale;
            }
        }
    }
}
