package dev.letsbuildgpt.train;

import dev.letsbuildgpt.GptException;

/**
 * How a model is trained: the lecture's hyperparameters, and nanoGPT's optional extras (warm-up, cosine decay,
 * gradient clipping), which the lecture's presets leave off.
 *
 * @param batchSize     sequences per step
 * @param maxIters      optimizer steps
 * @param evalInterval  steps between loss estimates (and checkpoints)
 * @param evalIters     batches per split averaged by estimate_loss
 * @param learningRate  peak learning rate
 * @param weightDecay   AdamW's decoupled weight decay, applied to every parameter (PyTorch's default 0.01)
 * @param beta1         Adam's first-moment decay
 * @param beta2         Adam's second-moment decay
 * @param gradClip      clip the global gradient norm to this value; 0 turns clipping off
 * @param warmupIters   linear warm-up steps; 0 for none
 * @param decayLr       cosine decay from learningRate to minLr over lrDecayIters
 * @param lrDecayIters  length of the cosine decay (nanoGPT sets it to maxIters)
 * @param minLr         the floor of the cosine decay
 * @param seed          seeds initialisation, batches and dropout
 * @param keepCheckpoints how many of the latest checkpoints to keep in {@code checkpoints/} (besides
 *                      {@code checkpoint.zip}, the latest, and {@code best.zip}, the best by validation loss)
 * @param shards        the CPU fast path splits each batch into this many shards of whole sequences, computed in
 *                      parallel and summed in a fixed order: part of the run's arithmetic (the same on any number of
 *                      cores), so a setting of the run, not of the machine
 */
public record TrainConfig(int batchSize, int maxIters, int evalInterval, int evalIters, double learningRate,
                          double weightDecay, double beta1, double beta2, double gradClip, int warmupIters,
                          boolean decayLr, int lrDecayIters, double minLr, long seed, int keepCheckpoints,
                          int shards) {

    public TrainConfig {
        positive("batch_size", batchSize);
        if (maxIters < 0) {
            throw new GptException("max_iters must not be negative, got " + maxIters);
        }
        positive("eval_interval", evalInterval);
        positive("eval_iters", evalIters);
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new GptException("learning_rate must be positive, got " + learningRate);
        }
        if (!(weightDecay >= 0)) {
            throw new GptException("weight_decay must not be negative, got " + weightDecay);
        }
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new GptException("Adam's betas must be in [0, 1)");
        }
        if (!(gradClip >= 0)) {
            throw new GptException("grad_clip must not be negative (0 turns it off), got " + gradClip);
        }
        if (warmupIters < 0 || lrDecayIters < 0) {
            throw new GptException("warmup_iters and lr_decay_iters must not be negative");
        }
        if (keepCheckpoints < 1) {
            throw new GptException("keep_checkpoints must be at least 1, got " + keepCheckpoints);
        }
        if (shards < 1) {
            throw new GptException("shards must be at least 1, got " + shards);
        }
        if (!(minLr >= 0)) {
            throw new GptException("min_lr must not be negative, got " + minLr);
        }
    }

    /** The lecture's settings: AdamW as PyTorch's defaults have it, constant learning rate, no clipping. */
    public static TrainConfig lecture(int batchSize, int maxIters, int evalInterval, double learningRate) {
        return new TrainConfig(batchSize, maxIters, evalInterval, 200, learningRate, 0.01, 0.9, 0.999, 0.0, 0,
                false, maxIters, learningRate / 10, 1337, 3, dev.letsbuildgpt.model.Shards.DEFAULT);
    }

    /**
     * The learning rate at a step: nanoGPT's schedule (linear warm-up, then cosine decay to minLr), or the
     * constant learningRate when neither is switched on.
     */
    public double learningRateAt(int step) {
        if (step < warmupIters) {
            return learningRate * (step + 1) / (warmupIters + 1);
        }
        if (!decayLr) {
            return learningRate;
        }
        if (step > lrDecayIters) {
            return minLr;
        }
        double ratio = (double) (step - warmupIters) / Math.max(1, lrDecayIters - warmupIters);
        double coeff = 0.5 * (1.0 + Math.cos(Math.PI * Math.min(1.0, ratio)));
        return minLr + coeff * (learningRate - minLr);
    }

    private static void positive(String name, int value) {
        if (value <= 0) {
            throw new GptException(name + " must be positive, got " + value);
        }
    }
}
