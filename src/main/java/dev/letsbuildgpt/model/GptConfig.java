package dev.letsbuildgpt.model;

import dev.letsbuildgpt.GptException;

/**
 * The shape of a model, like nanoGPT's {@code GPTConfig}.
 *
 * @param stage     which of the lecture's models to build ({@link Stage#GPT} is the full one)
 * @param vocabSize number of distinct tokens (65 for Tiny Shakespeare)
 * @param blockSize context length: the most tokens the model looks back over
 * @param nEmbd     width of the residual stream (embedding size)
 * @param nHead     attention heads; each has size nEmbd / nHead
 * @param nLayer    transformer blocks (RESIDUAL and GPT stages only)
 * @param dropout   probability of zeroing an activation during training; 0 turns dropout off
 * @param bias      biases in the linear layers that have them in the lecture (attention projection,
 *                  feed-forward, language-model head); key, query and value never have one
 * @param residual  the blocks' residual connections (x + sa(x), x + ffwd(x)); false makes them plain layers, to see
 *                  why the lecture adds them: a deep stack without them trains far worse
 */
public record GptConfig(Stage stage, int vocabSize, int blockSize, int nEmbd, int nHead, int nLayer,
                        double dropout, boolean bias, boolean residual) {

    /** With residual connections, as every stage of the lecture has them. */
    public GptConfig(Stage stage, int vocabSize, int blockSize, int nEmbd, int nHead, int nLayer, double dropout,
                     boolean bias) {
        this(stage, vocabSize, blockSize, nEmbd, nHead, nLayer, dropout, bias, true);
    }

    public GptConfig {
        if (stage == null) {
            throw new GptException("model stage must be set");
        }
        requirePositive("vocab_size", vocabSize);
        requirePositive("block_size", blockSize);
        if (stage != Stage.BIGRAM) {
            requirePositive("n_embd", nEmbd);
            requirePositive("n_head", nHead);
            if (nEmbd % nHead != 0) {
                throw new GptException("n_embd (" + nEmbd + ") must be divisible by n_head (" + nHead + ")");
            }
        }
        if (stage.usesBlocks()) {
            requirePositive("n_layer", nLayer);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new GptException("dropout must be in [0, 1), got " + dropout);
        }
    }

    /** The lecture's full GPT with biases where gpt.py has them. */
    public static GptConfig gpt(int vocabSize, int blockSize, int nEmbd, int nHead, int nLayer, double dropout) {
        return new GptConfig(Stage.GPT, vocabSize, blockSize, nEmbd, nHead, nLayer, dropout, true);
    }

    public int headSize() {
        return stage == Stage.HEAD ? nEmbd : nEmbd / nHead;
    }

    /** Heads actually built: the HEAD stage has a single head of size n_embd. */
    public int heads() {
        return stage == Stage.HEAD ? 1 : nHead;
    }

    public GptConfig withVocabSize(int v) {
        return new GptConfig(stage, v, blockSize, nEmbd, nHead, nLayer, dropout, bias, residual);
    }

    public GptConfig withDropout(double p) {
        return new GptConfig(stage, vocabSize, blockSize, nEmbd, nHead, nLayer, p, bias, residual);
    }

    /** Sizes beyond this are refused: no real model comes near, and products of them stay within long arithmetic. */
    static final int MAX_SIZE = 1 << 24;

    private static void requirePositive(String name, int value) {
        if (value <= 0) {
            throw new GptException(name + " must be positive, got " + value);
        }
        if (value > MAX_SIZE) {
            throw new GptException(name + " must be at most " + MAX_SIZE + ", got " + value);
        }
    }
}
