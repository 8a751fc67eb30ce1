package dev.letsbuildgpt.model;

import java.util.ArrayList;
import java.util.List;

/**
 * The CPU fast path over a whole batch: the batch split into a fixed number of {@link Shard}s of whole sequences,
 * each computed by the model's {@link LanguageModel.Pass} on whichever worker thread is free, their losses and
 * gradients then summed in shard order.
 *
 * <p>The number of shards is a setting of the run, not the machine's: a shard's arithmetic does not depend on the
 * thread that computes it, and the sum is always taken in the same order, so the same run gives bit-identical
 * losses and weights on 1, 2 or 16 cores. More shards than cores costs a little speed (smaller products); fewer
 * leaves cores idle.
 */
public final class Shards implements Backprop {
    /** The default number of shards a training batch is split into. */
    public static final int DEFAULT = 4;

    private final LanguageModel model;
    private final int batch;
    private final int time;
    private final int vocab;
    private final Shard[] shards;
    private final LanguageModel.Pass[] passes;
    private final float[][] logits;     // each shard's logits of its last forward pass (probabilities after a loss)
    private final Gradients total;

    /**
     * @param count     shards (at most one per sequence)
     * @param gradients whether the passes compute gradients (training) or only losses and logits
     */
    public Shards(LanguageModel model, int batch, int time, int count, boolean gradients) {
        this(model, batch, time, count, gradients, 1);
    }

    /** @param parts into how many parts each shard's products are split ({@link Shard#parts}) */
    private Shards(LanguageModel model, int batch, int time, int count, boolean gradients, int parts) {
        if (time > model.config().blockSize()) {
            throw new IllegalArgumentException("Cannot forward sequence of length " + time + ", block size is only "
                    + model.config().blockSize());
        }
        if (count < 1) {
            throw new IllegalArgumentException("shards must be positive, got " + count);
        }
        this.model = model;
        this.batch = batch;
        this.time = time;
        this.vocab = model.config().vocabSize();
        int k = Math.min(count, batch);
        requireArraySizes(model.config(), (batch + k - 1) / k, time);
        shards = new Shard[k];
        passes = new LanguageModel.Pass[k];
        logits = new float[k][];
        for (int i = 0, first = 0; i < k; i++) {
            int size = batch / k + (i < batch % k ? 1 : 0);
            shards[i] = new Shard(model.parameters(), size, time, first, gradients);
            shards[i].parts = parts;   // before the pass: its buffers depend on it
            passes[i] = model.pass(shards[i]);
            first += size;
        }
        total = gradients ? new Gradients(model.parameters()) : null;
    }

    /**
     * One sequence of {@code time} positions, for sampling without a key/value cache (the lecture's generate, which
     * runs the whole context for every token): no gradients, and its products split between threads as a decoder's
     * window splits them ({@link LanguageModel#windowParts}), so that one sequence keeps every core busy.
     */
    public static Shards window(LanguageModel model, int time) {
        return window(model, time, model.windowParts());
    }

    /** The same, split into {@code parts} (tests try several). */
    static Shards window(LanguageModel model, int time, int parts) {
        return new Shards(model, 1, time, 1, false, parts);
    }

    /** Into how many parts each shard's products are split. */
    int parts() {
        return shards[0].parts;
    }

    public int count() {
        return shards.length;
    }

    /** The positions of each sequence these shards take. */
    public int time() {
        return time;
    }

    /** A shard's widest buffers must fit in Java arrays: refused with a sentence before anything is allocated. */
    private static void requireArraySizes(GptConfig c, int sequences, int time) {
        long rows = (long) sequences * time;
        long widest = rows * Math.max(c.vocabSize(), 4L * c.nEmbd());
        long attention = rows * c.heads() * time;   // [B, H, T, T]
        long largest = Math.max(widest, attention);
        if (largest > Integer.MAX_VALUE - 8) {
            throw new dev.letsbuildgpt.GptException("a shard of " + sequences + " sequences of " + time
                    + " tokens needs arrays of " + largest + " values, more than Java arrays hold; use a smaller"
                    + " batch or block size, or more shards");
        }
    }

    @Override
    public double lossAndGradients(int[][] x, int[][] y, long dropoutSeed) {
        if (total == null) {
            throw new IllegalStateException("these shards compute no gradients");
        }
        double loss = run(x, y, true, dropoutSeed, true);
        List<Gradients> parts = new ArrayList<>(shards.length);
        for (Shard s : shards) {
            parts.add(s.grads);
        }
        total.sum(parts);
        return loss;
    }

    @Override
    public double loss(int[][] x, int[][] y) {
        return run(x, y, false, 0, false);
    }

    @Override
    public Gradients gradients() {
        return total;
    }

    @Override
    public String kind() {
        return "fast";
    }

    /** The logits [B, T, V] of a batch (no dropout), for a look at them or a comparison. */
    public org.nd4j.linalg.api.ndarray.INDArray logits(int[][] x) {
        run(x, null, false, 0, false);
        float[] all = new float[batch * time * vocab];
        for (int k = 0, at = 0; k < shards.length; k++) {
            int n = shards[k].rows * vocab;
            System.arraycopy(logits[k], 0, all, at, n);
            at += n;
        }
        return org.nd4j.linalg.factory.Nd4j.create(all, new long[]{batch, time, vocab}, 'c');
    }

    /** The logits [V] at {@code position} of sequence 0 of the batch (no dropout): what sampling reads. */
    public float[] logits(int[][] x, int position) {
        run(x, null, false, 0, false);
        float[] out = new float[vocab];
        System.arraycopy(logits[0], position * vocab, out, 0, vocab);
        return out;
    }

    /** Every shard's pass, in parallel; the mean loss over the batch's positions (NaN without targets). */
    private double run(int[][] x, int[][] y, boolean training, long dropoutSeed, boolean backward) {
        requireShape(x);
        if (y != null) {
            requireShape(y);
        }
        int positions = batch * time;
        double[] sums = new double[shards.length];
        // Each thread takes the next shard not yet taken; which thread computes which shard changes nothing.
        Backend.onThreads(shards.length, k -> sums[k] = pass(k, x, y, training, dropoutSeed, backward, positions));
        double sum = 0;
        for (double s : sums) {   // in shard order
            sum += s;
        }
        return y == null ? Double.NaN : sum / positions;
    }

    /** One shard: its tokens in, forward, and (with targets) the loss and, if asked, the backward pass. */
    private double pass(int k, int[][] x, int[][] y, boolean training, long dropoutSeed, boolean backward,
                        int positions) {
        Shard s = shards[k];
        for (int b = 0; b < s.batch; b++) {
            System.arraycopy(x[s.firstSequence + b], 0, s.idx, b * time, time);
            if (y != null) {
                System.arraycopy(y[s.firstSequence + b], 0, s.targets, b * time, time);
            }
        }
        s.mode(training, dropoutSeed);
        float[] out = passes[k].forward(s.idx);
        logits[k] = out;
        if (y == null) {
            return 0;
        }
        double loss = CrossEntropy.forward(out, s.targets, s.rows, vocab);
        if (backward) {
            CrossEntropy.backward(out, s.targets, s.rows, vocab, 1f / positions);
            s.grads.zero();
            passes[k].backward(out);
        }
        return loss;
    }

    private void requireShape(int[][] ids) {
        if (ids.length != batch || (batch > 0 && ids[0].length != time)) {
            throw new IllegalArgumentException("this model takes [" + batch + ", " + time + "] tokens, got ["
                    + ids.length + ", " + (ids.length == 0 ? 0 : ids[0].length) + "]");
        }
    }
}
