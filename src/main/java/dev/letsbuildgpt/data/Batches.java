package dev.letsbuildgpt.data;

import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.data.Dataset.Split;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Base64;
import java.util.Random;

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
    private Random random;

    public Batches(Dataset data, int batchSize, int blockSize, long seed) {
        if (batchSize <= 0 || blockSize <= 0) {
            throw new GptException("batch size and block size must be positive");
        }
        data.requireBlockSize(blockSize);
        this.data = data;
        this.batchSize = batchSize;
        this.blockSize = blockSize;
        this.random = new Random(seed);
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

    /** The random stream's state, for checkpoints. */
    public String state() {
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
             ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(random);
            out.flush();
            return Base64.getEncoder().encodeToString(bytes.toByteArray());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Restores a state from {@link #state()}. */
    public void restore(String state) {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(Base64.getDecoder().decode(state)))) {
            // A checkpoint is outside data: accept a java.util.Random and nothing else.
            in.setObjectInputFilter(ObjectInputFilter.Config.createFilter("java.util.Random;!*"));
            random = (Random) in.readObject();
        } catch (IOException | ClassNotFoundException | IllegalArgumentException | ClassCastException e) {
            throw new GptException("checkpoint holds an unreadable random-number state");
        }
    }
}
