package dev.letsbuildgpt.model;

/**
 * Generation with a key/value cache: the model run on one new position at a time.
 *
 * <p>Without a cache, every generated token runs the whole context through the model again, although only the
 * last position's logits are used. Causal attention makes that wasteful: the keys and values of earlier positions
 * do not depend on anything after them, so once computed they can be kept. Each new token then costs one
 * position: its query attends over the cached keys and values, and its own key and value are appended.
 *
 * <p>The arithmetic is the graph's ({@link Gpt}, module by module) for a single row, in plain Java on float
 * arrays: at one position every matmul is a vector-matrix product, too small for a native call to pay. The
 * weights are copied out of the model on {@link #reset()}, so a decoder sees the parameters as they were then.
 *
 * <p>The cache holds at most block_size positions. Past that, the lecture's model crops the context to the last
 * block_size tokens, which moves every token to a new position (and position embedding), so nothing cached stays
 * valid: {@link dev.letsbuildgpt.sample.Sampler} then runs the full window, as it does without a cache.
 */
public final class KvCacheDecoder {
    private final Gpt model;
    private final GptConfig cfg;
    private float[] tokenTable;
    private float[] positionTable;
    private Attention attention;        // HEAD, MULTIHEAD, FFWD: attention straight after the embeddings
    private Dense feedForward;          // FFWD: the single Linear + ReLU after it
    private BlockWeights[] blocks;      // RESIDUAL, GPT
    private Norm lnF;
    private Dense lmHead;
    private int length;

    public KvCacheDecoder(Gpt model) {
        this.model = model;
        this.cfg = model.config();
        reset();
    }

    /** The positions cached so far (the context length the next token will see, minus one). */
    public int length() {
        return length;
    }

    /** The most positions the cache holds: block_size. */
    public int capacity() {
        return cfg.blockSize();
    }

    /** Empties the cache and takes a fresh copy of the model's weights. */
    public void reset() {
        Parameters p = model.parameters();
        tokenTable = floats(p, model.tokenEmbedding.weight);
        positionTable = model.positionEmbedding == null ? null : floats(p, model.positionEmbedding.weight);
        attention = model.attention == null ? null : new Attention(p, model.attention, cfg.blockSize());
        feedForward = model.feedForward == null ? null : new Dense(p, model.feedForward.expand);
        blocks = model.blocks.stream().map(b -> new BlockWeights(p, b, cfg.blockSize())).toArray(BlockWeights[]::new);
        lnF = model.lnF == null ? null : new Norm(p, model.lnF);
        lmHead = model.lmHead == null ? null : new Dense(p, model.lmHead);
        length = 0;
    }

    /**
     * Feeds the token at the next position (position {@link #length()}) and returns the logits for the token that
     * follows it: the same numbers, up to float rounding, as the graph's logits at that position.
     */
    public float[] append(int token) {
        if (length == capacity()) {
            throw new IllegalStateException("the cache is full (block_size " + capacity() + ")");
        }
        int pos = length++;
        int v = cfg.vocabSize();
        if (cfg.stage() == Stage.BIGRAM) {
            // The bigram model reads the next token's logits straight off the token's row.
            float[] logits = new float[v];
            System.arraycopy(tokenTable, token * v, logits, 0, v);
            return logits;
        }
        int c = cfg.nEmbd();
        float[] x = new float[c];
        for (int i = 0; i < c; i++) {
            x[i] = tokenTable[token * c + i] + positionTable[pos * c + i];
        }
        if (attention != null) {
            x = attention.step(x, pos);
        }
        if (feedForward != null) {
            x = relu(feedForward.apply(x));
        }
        for (BlockWeights b : blocks) {
            x = b.step(x, pos);
        }
        if (lnF != null) {
            x = lnF.apply(x);
        }
        return lmHead.apply(x);
    }

    /** A pre-norm transformer block at one position: x + sa(ln1(x)), then + ffwd(ln2(x)). */
    private static final class BlockWeights {
        final Norm ln1;
        final Norm ln2;
        final Attention sa;
        final Dense expand;
        final Dense project;

        BlockWeights(Parameters p, Block b, int blockSize) {
            ln1 = b.ln1 == null ? null : new Norm(p, b.ln1);
            ln2 = b.ln2 == null ? null : new Norm(p, b.ln2);
            sa = new Attention(p, b.sa, blockSize);
            expand = new Dense(p, b.ffwd.expand);
            project = new Dense(p, b.ffwd.project);
        }

        float[] step(float[] x, int pos) {
            x = add(x, sa.step(ln1 == null ? x : ln1.apply(x), pos));
            return add(x, project.apply(relu(expand.apply(ln2 == null ? x : ln2.apply(x)))));
        }
    }

    /** Multi-head causal self-attention at one position, with this layer's key/value cache. */
    private static final class Attention {
        final int heads;
        final int headSize;
        final Dense qkv;            // [C, 3 * H * hs]: every head's query, then key, then value weights side by side
        final Dense proj;           // null in the lecture's early stages
        final float[][] keys;       // per head: [block_size, hs]
        final float[][] values;
        final float scale;

        Attention(Parameters p, MultiHeadAttention mha, int blockSize) {
            heads = mha.heads.length;
            headSize = mha.headSize;
            int width = heads * headSize;
            float[] w = mha.fusedQkv(p::get);
            qkv = new Dense(w, null, w.length / (3 * width), 3 * width);
            proj = mha.proj == null ? null : new Dense(p, mha.proj);
            keys = new float[heads][blockSize * headSize];
            values = new float[heads][blockSize * headSize];
            scale = (float) Math.pow(headSize, -0.5);
        }

        float[] step(float[] x, int pos) {
            int width = heads * headSize;
            float[] qkvRow = qkv.apply(x);
            float[] out = new float[width];
            for (int h = 0; h < heads; h++) {
                int q = h * headSize;
                // This position's key and value join the cache; its query looks at positions 0..pos.
                System.arraycopy(qkvRow, width + q, keys[h], pos * headSize, headSize);
                System.arraycopy(qkvRow, 2 * width + q, values[h], pos * headSize, headSize);
                float[] wei = new float[pos + 1];
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j <= pos; j++) {
                    float s = 0;
                    for (int d = 0; d < headSize; d++) {
                        s += qkvRow[q + d] * keys[h][j * headSize + d];
                    }
                    wei[j] = s * scale;
                    max = Math.max(max, wei[j]);
                }
                float sum = 0;
                for (int j = 0; j <= pos; j++) {
                    wei[j] = (float) Math.exp(wei[j] - max);
                    sum += wei[j];
                }
                for (int j = 0; j <= pos; j++) {
                    float a = wei[j] / sum;
                    for (int d = 0; d < headSize; d++) {
                        out[q + d] += a * values[h][j * headSize + d];
                    }
                }
            }
            return proj == null ? out : proj.apply(out);
        }
    }

    /** A linear layer's weight [in, out] and bias, as floats. */
    private static final class Dense {
        final float[] w;
        final float[] b;
        final int in;
        final int out;

        Dense(Parameters p, Linear l) {
            this(floats(p, l.weight), l.bias == null ? null : floats(p, l.bias),
                    Math.toIntExact(p.get(l.weight).shape()[0]), l.out);
        }

        Dense(float[] w, float[] b, int in, int out) {
            this.w = w;
            this.b = b;
            this.in = in;
            this.out = out;
        }

        /** x W + b, accumulated row by row of W (a loop the JIT vectorises). */
        float[] apply(float[] x) {
            float[] y = b == null ? new float[out] : b.clone();
            for (int i = 0; i < in; i++) {
                float xi = x[i];
                int row = i * out;
                for (int j = 0; j < out; j++) {
                    y[j] += xi * w[row + j];
                }
            }
            return y;
        }
    }

    /** LayerNorm of one vector, as {@link LayerNorm} computes it. */
    private static final class Norm {
        final float[] gain;
        final float[] bias;

        Norm(Parameters p, LayerNorm ln) {
            gain = floats(p, ln.weight);
            bias = floats(p, ln.bias);
        }

        float[] apply(float[] x) {
            double mean = 0;
            for (float v : x) {
                mean += v;
            }
            mean /= x.length;
            double var = 0;
            for (float v : x) {
                var += (v - mean) * (v - mean);
            }
            var /= x.length;
            float inv = (float) (1 / Math.sqrt(var + LayerNorm.EPS));
            float[] y = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                y[i] = (float) (x[i] - mean) * inv * gain[i] + bias[i];
            }
            return y;
        }
    }

    private static float[] add(float[] a, float[] b) {
        float[] y = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i] + b[i];
        }
        return y;
    }

    private static float[] relu(float[] x) {
        for (int i = 0; i < x.length; i++) {
            x[i] = Math.max(0, x[i]);
        }
        return x;
    }

    /** A parameter's values in row-major order, as floats. */
    private static float[] floats(Parameters p, String name) {
        return Parameters.floats(p.get(name));
    }
}
