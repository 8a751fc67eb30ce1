package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;

import java.util.SplittableRandom;

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

    public Dropout(String name, double p) {
        this.name = name;
        this.p = p;
        this.keepScale = (float) (1 / (1 - p));
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
        draw(keep, seed, 0, batch, perSequence);
        float[] m = new float[keep.length];
        for (int i = 0; i < m.length; i++) {
            m[i] = keep[i] * keepScale;
        }
        return m;
    }

    /** 1 (keep) or 0 (drop) for each value of sequences first .. first + batch - 1 of the batch. */
    private void draw(byte[] keep, long seed, int first, int batch, int perSequence) {
        for (int b = 0; b < batch; b++) {
            SplittableRandom r = new SplittableRandom(stream(seed, first + b));
            for (int i = b * perSequence, end = i + perSequence; i < end; i++) {
                keep[i] = (byte) (r.nextDouble() >= p ? 1 : 0);
            }
        }
    }

    private long stream(long seed, int sequence) {
        return (seed * 0x9E3779B97F4A7C15L + name.hashCode()) * 0xBF58476D1CE4E5B9L + sequence;
    }

    // --------------------------------------------------------------------- fast path: forward and backward, on the CPU

    /** @param perSequence values per sequence of the activation it drops (T*C, or T*T for attention weights) */
    public Pass pass(Shard s, int perSequence) {
        return new Pass(s, perSequence);
    }

    /** One shard's forward and backward pass: the mask of the last forward pass, and the buffers. */
    public final class Pass {
        final Shard s;
        final int perSequence;
        byte[] keep;          // [batch * perSequence], drawn by each training forward pass
        boolean dropped;      // whether the last forward pass dropped anything
        final float[] dx;

        Pass(Shard s, int perSequence) {
            this.s = s;
            this.perSequence = perSequence;
            this.dx = active() ? s.scratch(name, "dx", s.batch * perSequence) : null;
        }

        /** Draws this step's masks (training) or none (evaluation); returns whether anything is dropped. */
        public boolean draw() {
            dropped = s.training && active();
            if (dropped) {
                if (keep == null) {
                    keep = new byte[s.batch * perSequence];
                }
                Dropout.this.draw(keep, s.dropoutSeed, s.firstSequence, s.batch, perSequence);
            }
            return dropped;
        }

        /**
         * x -> x * mask, in place (the modules that drop hand it a buffer that nothing else reads: a projection's
         * output). Draws the masks first.
         */
        public float[] forward(float[] x) {
            if (draw()) {
                for (int i = 0; i < x.length; i++) {
                    x[i] *= keep[i] * keepScale;
                }
            }
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

        /** The mask's factor for value i of the shard: 0 or 1/(1-p); 1 when nothing was dropped. */
        float factor(int i) {
            return dropped ? keep[i] * keepScale : 1f;
        }
    }
}
