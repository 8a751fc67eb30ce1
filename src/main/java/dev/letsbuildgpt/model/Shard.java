package dev.letsbuildgpt.model;

import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * A part of a batch, as the fast path computes it: {@code batch} whole sequences of {@code time} positions, one row
 * per position ({@code rows = batch * time}), with its own gradients.
 *
 * <p>The batch of a training step is split into a fixed number of shards (see {@link Shards}); each is computed on
 * its own, on whatever thread is free, and their gradients are summed in shard order, so the result is the same
 * however many threads there are. A shard's buffers are allocated once, when its {@link LanguageModel.Pass} is made,
 * and reused every step.
 */
public final class Shard {
    public final int batch;
    public final int time;
    public final int rows;
    /** Where this shard's sequences start in the whole batch: dropout masks are drawn per sequence of the batch. */
    public final int firstSequence;
    public final Gradients grads;
    /** The input tokens and the targets of this shard's rows. */
    public final int[] idx;
    public final int[] targets;
    /** Training (dropout on, masks from {@link #dropoutSeed}) or evaluation. */
    boolean training;
    long dropoutSeed;
    private final Map<String, float[]> scratch = new HashMap<>();
    private final Map<String, FloatBuffer> directScratch = new HashMap<>();
    private final Parameters params;
    /**
     * Into how many row ranges the larger matrix products are split, each on a thread of its own ({@link Parallel}):
     * 1 in training, where the shards themselves run in parallel; more for a decoder's window, one sequence whose
     * prefill would otherwise leave the other cores idle, and for a window of sampling without the cache
     * ({@link Shards#window}). Fixed, not taken from the machine: the split changes the
     * products' rounding, and the same window must give the same numbers everywhere.
     */
    int parts = 1;
    /**
     * Whether what each module's forward pass computes stays until the next pass even without gradients (a decoder's
     * window: the caches of the blocks before the last are filled from their q/k/v products when a step needs them),
     * instead of sharing its arrays with the same module of the other blocks ({@link #activations}).
     */
    boolean keepsOutputs;

    public Shard(Parameters params, int batch, int time, int firstSequence, boolean withGradients) {
        this.params = params;
        this.batch = batch;
        this.time = time;
        this.rows = batch * time;
        this.firstSequence = firstSequence;
        this.grads = withGradients ? new Gradients(params) : null;
        this.idx = new int[rows];
        this.targets = new int[rows];
    }

    /** Sets the mode of the next pass: training with the step's dropout seed, or evaluation (no dropout). */
    public void mode(boolean training, long dropoutSeed) {
        this.training = training;
        this.dropoutSeed = dropoutSeed;
    }

    public boolean training() {
        return training;
    }

    /**
     * Runs {@code work} on the {@link #parts} row ranges at once (each range on one thread, start to end); the ranges
     * are fixed by the row count and the parts alone, so every caller splits a window the same way.
     */
    void inRowRanges(Sgemm.Rows work) {
        int per = (rows + parts - 1) / parts;
        Parallel.run(parts, p -> {
            int r0 = Math.min(rows, p * per);
            int r1 = Math.min(rows, r0 + per);
            if (r0 < r1) {
                work.apply(r0, r1);
            }
        });
    }

    /**
     * A buffer that a module's pass uses only while it runs (most of the backward pass's buffers), shared with the
     * same module of every other block: the blocks run one after another, so the next block reuses what the last
     * one is done with. Everything a pass keeps from its forward pass for its backward pass is its own.
     *
     * @param owner   the module's name ({@code blocks.3.sa.proj} shares with {@code blocks.0.sa.proj})
     * @param purpose what the buffer holds, within the module
     */
    float[] scratch(String owner, String purpose, int size) {
        return scratch.computeIfAbsent(key(owner, purpose, size), k -> new float[size]);
    }

    /** The same for direct buffers, which BLAS reads in place (see {@link Sgemm}). */
    FloatBuffer directScratch(String owner, String purpose, int size) {
        return directScratch.computeIfAbsent(key(owner, purpose, size), k -> Sgemm.direct(size));
    }

    /**
     * What a module's forward pass keeps (its output, and what its backward pass reads): its own where a backward pass
     * will read it (a shard with gradients) or where it must outlast the block ({@link #keepsOutputs}); otherwise, in
     * a pass that only infers, {@link #scratch} shared with the same module of the other blocks, which are done with
     * it before the next block starts: on the gpt preset, of 25 MB of attention weights per layer in a shard of 16
     * sequences, or of about 10 MB of arrays per layer of a window of 256 positions, one layer's instead of six
     * (`gpt eval` of a gpt checkpoint, with {@link #gradientScratch}: 6.6 GB of peak resident memory -> 1.9).
     */
    float[] activations(String owner, String purpose, int size) {
        return keepsOwnActivations() ? new float[size] : scratch(owner, purpose, size);
    }

    /** The same for direct buffers (a window in parts leaves its products there). */
    FloatBuffer directActivations(String owner, String purpose, int size) {
        return keepsOwnActivations() ? Sgemm.direct(size) : directScratch(owner, purpose, size);
    }

    private boolean keepsOwnActivations() {
        return grads != null || keepsOutputs;
    }

    /** A {@link #scratch} buffer that only a backward pass uses: none (null) in a shard without gradients. */
    float[] gradientScratch(String owner, String purpose, int size) {
        return grads == null ? null : scratch(owner, purpose, size);
    }

    /** The same for direct buffers. */
    FloatBuffer gradientDirectScratch(String owner, String purpose, int size) {
        return grads == null ? null : directScratch(owner, purpose, size);
    }

    /** A tensor's values in a direct buffer, for BLAS ({@link Parameters#direct}). */
    FloatBuffer directWeight(Parameters.Tensor t) {
        return params.direct(t);
    }

    private static String key(String owner, String purpose, int size) {
        return owner.replaceFirst("^blocks\\.\\d+\\.", "blocks.*.") + "/" + purpose + "/" + size;
    }

    /** The shard's gradient of a tensor; a pass without gradients (evaluation, sampling) has none. */
    float[] grad(Parameters.Tensor t) {
        if (grads == null) {
            throw new IllegalStateException("this shard computes no gradients");
        }
        return grads.of(t);
    }
}
