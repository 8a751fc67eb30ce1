package dev.letsbuildgpt.bench;

import dev.letsbuildgpt.train.RunConfig;

/**
 * The benchmark's model sizes, the same as the PyTorch reference's ({@code torch_gpt_bench.py}'s CONFIGS), with how
 * many steps to warm up and to time: small models need more steps for a steady figure (the JIT compiles the fast
 * path's loops over the first hundred or so of T's 10 ms steps), B's steps take seconds.
 */
public enum BenchConfig {
    /** The lecture notebook's last model. */
    T(4, 4, 64, 32, 16, 0.0, 100, 100),
    /** nanoGPT's CPU Shakespeare run (this project's {@code cpu} preset). */
    A(4, 4, 128, 64, 12, 0.0, 20, 40),
    /** The lecture's final gpt.py. */
    B(6, 6, 384, 256, 64, 0.2, 1, 3);

    public final int nLayer;
    public final int nHead;
    public final int nEmbd;
    public final int blockSize;
    public final int batchSize;
    public final double dropout;
    public final int warmup;
    public final int steps;

    BenchConfig(int nLayer, int nHead, int nEmbd, int blockSize, int batchSize, double dropout, int warmup, int steps) {
        this.nLayer = nLayer;
        this.nHead = nHead;
        this.nEmbd = nEmbd;
        this.blockSize = blockSize;
        this.batchSize = batchSize;
        this.dropout = dropout;
        this.warmup = warmup;
        this.steps = steps;
    }

    /** The run: the lecture's GPT and AdamW at the reference's learning rate (3e-4), this size. */
    public RunConfig run() {
        return RunConfig.preset("gpt")
                .with("n-layer", String.valueOf(nLayer)).with("n-head", String.valueOf(nHead))
                .with("n-embd", String.valueOf(nEmbd)).with("block-size", String.valueOf(blockSize))
                .with("batch-size", String.valueOf(batchSize)).with("dropout", String.valueOf(dropout))
                .with("learning-rate", "3e-4");
    }

    /** Tokens generated per sampling measurement: from one token up to a full context of block_size. */
    public int sampleTokens() {
        return blockSize - 1;
    }

    /**
     * Model FLOPs per trained token, as nanoGPT's estimate_mfu counts them: 6 per parameter (forward 2, backward 4)
     * plus the attention's 12 * n_layer * n_embd * block_size.
     */
    public double flopsPerToken(long params) {
        return 6.0 * params + 12.0 * nLayer * nEmbd * blockSize;
    }
}
