package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A model that reads a context of tokens and gives, at every position, the logits of the token that comes next:
 * the bigram model ({@link BigramLanguageModel}) and the GPT of each later stage of the lecture ({@link Gpt}).
 *
 * <p>Each model is written three ways, in one class, from the same modules: as a SameDiff graph ({@link #define}:
 * the reference, what GPU backends run and what notebooks show), as a forward and backward pass over preallocated
 * float arrays ({@link #pass}: what trains on the CPU, checked against SameDiff's automatic gradients), and as a
 * step that feeds one new position against cached keys and values ({@link #decoder}: what samples).
 */
public abstract class LanguageModel {
    protected final GptConfig config;
    protected final Parameters params;

    protected LanguageModel(GptConfig config, Parameters params) {
        Backend.configure();
        this.config = config;
        this.params = params;
    }

    /** The model of a configuration's stage, initialised from {@code seed}. */
    public static LanguageModel create(GptConfig config, long seed) {
        return create(config, new Parameters(seed));
    }

    private static LanguageModel create(GptConfig config, Parameters params) {
        return config.stage() == Stage.BIGRAM ? new BigramLanguageModel(config, params) : new Gpt(config, params);
    }

    /**
     * The parameters' names and shapes that a configuration's model has, without their values (see {@link
     * Parameters#shapesOnly}: a configuration that describes more is refused with {@link Parameters.TooLarge}).
     */
    public static Parameters shapes(GptConfig config, long maxValues, int maxParameters) {
        return create(config, Parameters.shapesOnly(maxValues, maxParameters)).parameters();
    }

    public GptConfig config() {
        return config;
    }

    public Parameters parameters() {
        return params;
    }

    // ------------------------------------------------------------------------------ SameDiff: the reference definition

    /** idx: [B*T] token ids -> logits [B*T, V]. */
    public abstract SDVariable define(Graph g, SDVariable idx);

    /** A SameDiff graph of this model for a batch of B sequences of T tokens (T at most block_size), in float32. */
    public Graph graph(Graph.Mode mode, int batch, int time) {
        return graph(mode, batch, time, DataType.FLOAT);
    }

    /** @param dataType FLOAT, or DOUBLE for gradient checks by finite differences */
    public Graph graph(Graph.Mode mode, int batch, int time, DataType dataType) {
        return Graph.of(this, mode, batch, time, dataType);
    }

    // --------------------------------------------------------------------- fast path: forward and backward, on the CPU

    /** One shard's forward and backward pass (see {@link Shards}, which runs them). */
    public interface Pass {
        /** The shard's tokens [N] -> logits [N, V] (a buffer of the pass's: the loss turns it into probabilities). */
        float[] forward(int[] idx);

        /** The gradient of the loss with respect to the logits -> every parameter's gradient, added to the shard's. */
        void backward(float[] dLogits);
    }

    public abstract Pass pass(Shard s);

    // ------------------------------------------------------------------------------------- decoding: one position

    /** Feeds a sequence one token at a time from position 0, keeping what later positions need. */
    public abstract class Decoder {
        private int length;

        /** The positions fed so far. */
        public int length() {
            return length;
        }

        /** The most positions a decoder takes: block_size. */
        public int capacity() {
            return config.blockSize();
        }

        /** Forgets every position fed. */
        public void reset() {
            length = 0;
        }

        /**
         * Feeds {@code count} tokens at once from an empty decoder, {@code tokens[from ..]} at positions 0, 1, ...:
         * the prefill of a context, by one forward pass of the fast path instead of a step per position. What the
         * next {@link #append} returns is the same (to float rounding) either way.
         */
        public void prefill(int[] tokens, int from, int count) {
            requireEmpty("prefill");
            if (count < 0 || count >= capacity()) {
                throw new IllegalArgumentException("a prefill takes 0 to block_size - 1 = " + (capacity() - 1)
                        + " tokens, got " + count);
            }
            if (count > 0) {
                fill(tokens, from, count);
            }
            length = count;
        }

        /** Puts into the decoder's state what positions 0..count-1 leave there. */
        protected abstract void fill(int[] tokens, int from, int count);

        /**
         * Starts on a context: feeds its {@code count} tokens ({@code tokens[from ..]}, 1 to block_size of them) at
         * once from an empty decoder and returns the logits [V] of the token after the last, as a prefill of all but
         * the last and an {@link #append} of it would (to float rounding). This is what a sample does for every token
         * past block_size, where the cropped window moves every position.
         */
        public float[] start(int[] tokens, int from, int count) {
            requireEmpty("start");
            if (count < 1 || count > capacity()) {
                throw new IllegalArgumentException("a start takes 1 to block_size = " + capacity() + " tokens, got "
                        + count);
            }
            float[] logits = fillAndStep(tokens, from, count).clone();   // the steps' buffers are reused
            length = count;
            return logits;
        }

        private void requireEmpty(String what) {
            if (length != 0) {
                throw new IllegalStateException("a " + what + " starts from an empty decoder (reset it first)");
            }
        }

        /** {@link #fill} of all but the last token, then a {@link #step} of it; a model may do both in one pass. */
        protected float[] fillAndStep(int[] tokens, int from, int count) {
            if (count > 1) {
                fill(tokens, from, count - 1);
            }
            return step(tokens[from + count - 1], count - 1);
        }

        /** Feeds the token at the next position; the logits [V] of the token after it. */
        public float[] append(int token) {
            if (length == capacity()) {
                throw new IllegalStateException("the decoder is full (block_size " + capacity() + ")");
            }
            return step(token, length++).clone();   // the steps' buffers are reused: the caller's own copy
        }

        /** The model at one position, given every earlier one (kept by the decoder). */
        protected abstract float[] step(int token, int pos);
    }

    public abstract Decoder decoder();

    /**
     * Into how many parts, computed at once on threads of their own, the products of a forward pass over one sequence
     * are split: a decoder's window, a window of {@link Shards#window}. One unless a model says otherwise.
     */
    int windowParts() {
        return 1;
    }
}
