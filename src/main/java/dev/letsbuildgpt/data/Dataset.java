package dev.letsbuildgpt.data;

import dev.letsbuildgpt.GptException;

import java.util.Arrays;

/**
 * The encoded text split as in the lecture: the first 90% of tokens train the model, the last 10% validate it.
 */
public final class Dataset {
    public enum Split { TRAIN, VAL }

    private final CharTokenizer tokenizer;
    private final int[] train;
    private final int[] val;

    public Dataset(CharTokenizer tokenizer, int[] tokens) {
        this.tokenizer = tokenizer;
        int n = (int) (0.9 * tokens.length);
        this.train = Arrays.copyOfRange(tokens, 0, n);
        this.val = Arrays.copyOfRange(tokens, n, tokens.length);
    }

    /** Tokenizes {@code text} with a vocabulary built from the text itself. */
    public static Dataset of(String text) {
        CharTokenizer tok = CharTokenizer.fromText(text);
        return new Dataset(tok, tok.encode(text));
    }

    /** Tokenizes {@code text} with a given vocabulary (for example a checkpoint's). */
    public static Dataset of(String text, CharTokenizer tokenizer) {
        return new Dataset(tokenizer, tokenizer.encode(text));
    }

    public CharTokenizer tokenizer() {
        return tokenizer;
    }

    public int[] tokens(Split split) {
        return split == Split.TRAIN ? train : val;
    }

    /** Fails with a clear message when a split is too short to cut one window of {@code blockSize + 1} tokens. */
    public void requireBlockSize(int blockSize) {
        int shortest = Math.min(train.length, val.length);
        if (shortest <= blockSize) {
            throw new GptException("block size " + blockSize + " is too large for the data: the "
                    + (val.length <= train.length ? "validation" : "training") + " split has only " + shortest
                    + " tokens");
        }
    }
}
