package dev.letsbuildgpt.sample;

import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.data.CharTokenizer;
import dev.letsbuildgpt.model.LanguageModel;
import dev.letsbuildgpt.model.Shards;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.IntConsumer;

/**
 * The lecture's {@code generate}: feed the context (cropped to the last block_size tokens), take the logits of
 * the last position, divide by the temperature, keep the top k, softmax, draw the next token, append, repeat.
 *
 * <p>By default the model runs with a key/value cache ({@link LanguageModel#decoder()}): while the context fits in
 * block_size, each new token costs one position instead of a pass over the whole context. Once the context is
 * longer, the window slides: cropping moves every token to a new position (and position embedding), so nothing
 * cached stays valid; each token then costs one forward pass of the fast path over the window (up to the last
 * layer's keys and values, then the last layer's rest for the last position alone). A prompt starts the same way. Both
 * ways give the same tokens for the same seed (tested).
 *
 * <p>Without the cache, the full pass runs over the context padded on the right to the next multiple of 16 positions
 * (at most block_size); the causal mask makes the logits at the context's last position independent of whatever
 * comes after it, so padding changes nothing.
 */
public final class Sampler {
    private final LanguageModel model;
    private final CharTokenizer tokenizer;
    private final LanguageModel.Decoder cache;   // null: every token runs the full window
    /**
     * Without the cache: the forward passes over the context, one per window length used so far (kept: a window's
     * buffers are tens of MB on the gpt preset, and making one every 16 tokens filled the heap with garbage that
     * raised the process's resident memory by about a GB).
     */
    private final Map<Integer, Shards> windows = new HashMap<>();

    /** A sampler with the key/value cache. */
    public Sampler(LanguageModel model, CharTokenizer tokenizer) {
        this(model, tokenizer, true);
    }

    /** @param kvCache false runs the whole context through the model for every token, as the lecture does */
    public Sampler(LanguageModel model, CharTokenizer tokenizer, boolean kvCache) {
        if (model.config().vocabSize() != tokenizer.vocabSize()) {
            throw new GptException("the model has " + model.config().vocabSize() + " tokens, the vocabulary "
                    + tokenizer.vocabSize());
        }
        this.model = model;
        this.tokenizer = tokenizer;
        this.cache = kvCache ? model.decoder() : null;
    }

    /** Sampling settings: temperature > 0, topK in [1, vocab] or null for all tokens, tokens >= 0, a seed. */
    public record Settings(int tokens, double temperature, Integer topK, long seed) {
        public Settings {
            if (tokens < 0) {
                throw new GptException("number of tokens must not be negative, got " + tokens);
            }
            if (!(temperature > 0) || Double.isInfinite(temperature)) {
                throw new GptException("temperature must be positive, got " + temperature);
            }
        }

        public static Settings of(int tokens, long seed) {
            return new Settings(tokens, 1.0, null, seed);
        }
    }

    /**
     * Text that starts with the prompt and continues with {@code tokens} generated characters. An empty prompt
     * starts, as the lecture does, from token 0 (a newline in Tiny Shakespeare).
     *
     * @param onText receives each generated piece of text as it comes (for streaming output); may be null
     */
    public String generate(String prompt, Settings s, java.util.function.Consumer<String> onText) {
        int[] context = prompt.isEmpty() ? new int[]{0} : tokenizer.encode(prompt);
        int[] out = generate(context, s, onText == null ? null : t -> onText.accept(tokenizer.decode(new int[]{t})));
        return tokenizer.decode(out);
    }

    /** The context followed by {@code s.tokens()} new tokens. */
    public int[] generate(int[] context, Settings s, IntConsumer onToken) {
        int vocab = model.config().vocabSize();
        if (s.topK() != null && (s.topK() < 1 || s.topK() > vocab)) {
            throw new GptException("top-k must be between 1 and the vocabulary size " + vocab + ", got " + s.topK());
        }
        if (context.length == 0) {
            throw new GptException("sampling needs at least one context token");
        }
        Random random = new Random(s.seed());
        int[] tokens = Arrays.copyOf(context, context.length + s.tokens());
        if (cache != null) {
            cache.reset();   // an empty cache
        }
        for (int n = context.length; n < tokens.length; n++) {
            double[] row = nextLogits(tokens, n);
            tokens[n] = sample(row, s.temperature(), s.topK(), random);
            if (onToken != null) {
                onToken.accept(tokens[n]);
            }
        }
        return tokens;
    }

    /** The logits for token n, given tokens 0..n-1. */
    private double[] nextLogits(int[] tokens, int n) {
        int block = model.config().blockSize();
        int start = Math.max(0, n - block);   // crop to the last block_size tokens
        if (cache != null) {
            if (start > 0 || cache.length() == 0) {
                // A new context, or the window slid (cropping moves every token to a new position, so nothing cached
                // stays valid): the whole context in one forward pass.
                cache.reset();
                return toDouble(cache.start(tokens, start, n - start));
            }
            return toDouble(cache.append(tokens[n - 1]));   // the one position the cache lacks
        }
        // The context as it is (the lecture's idx[:, -block_size:]), in a window of the next multiple of 16 positions:
        // what follows the context changes nothing in it (causality). Its products are split between threads as the
        // decoder's are (B's 255-token sample without the cache: 23.1-25.0 ms a token in one part, 14.1-14.7 in two).
        int len = n - start;
        int time = Math.min(block, (len + 15) / 16 * 16);
        Shards window = windows.computeIfAbsent(time, t -> Shards.window(model, t));
        int[][] w = {Arrays.copyOf(Arrays.copyOfRange(tokens, start, n), time)};
        return toDouble(window.logits(w, len - 1));
    }

    private static double[] toDouble(float[] logits) {
        double[] row = new double[logits.length];
        for (int v = 0; v < row.length; v++) {
            row[v] = logits[v];
        }
        return row;
    }

    /** Draws one token from softmax(logits / temperature), restricted to the k largest logits when topK is set. */
    public static int sample(double[] logits, double temperature, Integer topK, Random random) {
        double[] l = new double[logits.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = logits[i] / temperature;
        }
        if (topK != null && topK < l.length) {
            double[] sorted = l.clone();
            Arrays.sort(sorted);
            double kth = sorted[l.length - topK];
            for (int i = 0; i < l.length; i++) {
                if (l[i] < kth) {
                    l[i] = Double.NEGATIVE_INFINITY;
                }
            }
        }
        double max = Arrays.stream(l).max().orElseThrow();
        if (!Double.isFinite(max) || Arrays.stream(l).anyMatch(Double::isNaN)) {
            throw new GptException("the model's logits are not finite numbers (" + max + "): its weights are not"
                    + " usable (training diverged?)");
        }
        double sum = 0;
        double[] p = new double[l.length];
        for (int i = 0; i < l.length; i++) {
            p[i] = Math.exp(l[i] - max);
            sum += p[i];
        }
        double u = random.nextDouble() * sum;
        double acc = 0;
        for (int i = 0; i < p.length; i++) {
            acc += p[i];
            if (u < acc) {
                return i;
            }
        }
        for (int i = p.length - 1; i >= 0; i--) {   // rounding left u at the very top: the last possible token
            if (p[i] > 0) {
                return i;
            }
        }
        throw new IllegalStateException("no token has positive probability");
    }
}
