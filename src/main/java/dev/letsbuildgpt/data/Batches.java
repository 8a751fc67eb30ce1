package dev.letsbuildgpt.data;

import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.data.Dataset.Split;


/**
 * The lecture's {@code get_batch}: {@code batchSize} windows of {@code blockSize} tokens at random offsets, and the
 * same windows shifted by one as targets. Each window packs {@code blockSize} training examples: for every t,
 * "after x[0..t] comes y[t]".
 *
 * <p>One seeded random stream draws every batch (training and evaluation alike, as {@code torch.randint} does in
 * the lecture), so a run is reproducible; its state goes into checkpoints so that a resumed run draws the same
 * batches as an uninterrupted one.
 */
public final class Batches {
    /** Inputs and targets, each {@code [batchSize][blockSize]} token ids. */
    public record Batch(int[][] x, int[][] y) {
        public int batchSize() {
            return x.length;
        }

        public int blockSize() {
            return x[0].length;
        }
    }

    private final Dataset data;
    private final int batchSize;
    private final int blockSize;
    private Rng random;

    public Batches(Dataset data, int batchSize, int blockSize, long seed) {
        if (batchSize <= 0 || blockSize <= 0) {
            throw new GptException("batch size and block size must be positive");
        }
        data.requireBlockSize(blockSize);
        this.data = data;
        this.batchSize = batchSize;
        this.blockSize = blockSize;
        this.random = new Rng(seed);
    }

    public Batch next(Split split) {
        int[] d = data.tokens(split);
        int[][] x = new int[batchSize][blockSize];
        int[][] y = new int[batchSize][blockSize];
        for (int b = 0; b < batchSize; b++) {
            int i = random.nextInt(d.length - blockSize);
            System.arraycopy(d, i, x[b], 0, blockSize);
            System.arraycopy(d, i + 1, y[b], 0, blockSize);
        }
        return new Batch(x, y);
    }

    /** The random stream's state, for checkpoints: one number. */
    public long state() {
        return random.state();
    }

    /** Continues from a state from {@link #state()}. */
    public void restore(long state) {
        try {
            random = Rng.fromState(state);
        } catch (IllegalArgumentException e) {
            throw new GptException("checkpoint holds an unreadable random-number state (" + state + ")");
        }
    }

    public int batchSize() {
        return batchSize;
    }

    public int blockSize() {
        return blockSize;
    }
}
