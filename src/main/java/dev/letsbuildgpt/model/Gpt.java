package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The GPT language model, and each model the lecture builds on the way to it (by {@link GptConfig#stage()}):
 *
 * <pre>
 *   idx [B, T] -> token_embedding_table + position_embedding_table   x [B*T, C]
 *              -> sa_head                                            HEAD: one head of size C
 *              -> sa_heads (-> ffwd)                                 MULTIHEAD (FFWD): 4 heads of C/4 (+ Linear, ReLU)
 *              -> blocks (-> ln_f)                                   RESIDUAL (GPT): n_layer blocks (+ LayerNorm)
 *              -> lm_head                                            logits [B*T, V]
 * </pre>
 *
 * The module tree, and so the parameter names, follow the lecture's gpt.py: {@code blocks.0.sa.heads.1.key.weight},
 * {@code blocks.0.ffwd.net.0.bias}, {@code ln_f.weight}, {@code lm_head.weight}.
 */
public final class Gpt extends LanguageModel {
    final Embedding tokenEmbedding;          // token_embedding_table [V, C]
    final Embedding positionEmbedding;       // position_embedding_table [block_size, C]
    final Head saHead;                       // HEAD
    final MultiHeadAttention saHeads;        // MULTIHEAD, FFWD
    final FeedForward ffwd;                  // FFWD
    final List<Block> blocks = new ArrayList<>();  // RESIDUAL, GPT
    final LayerNorm lnF;                     // GPT
    final Linear lmHead;                     // [C, V]

    public Gpt(GptConfig config, long seed) {
        this(config, new Parameters(seed));
    }

    Gpt(GptConfig config, Parameters params) {
        super(config, params);
        Stage stage = config.stage();
        if (stage == Stage.BIGRAM) {
            throw new IllegalArgumentException("the bigram stage is a BigramLanguageModel");
        }
        int v = config.vocabSize();
        int c = config.nEmbd();
        tokenEmbedding = new Embedding(params, "token_embedding_table", v, c);
        positionEmbedding = new Embedding(params, "position_embedding_table", config.blockSize(), c);
        saHead = stage == Stage.HEAD ? new Head(params, "sa_head", c, c, 0) : null;
        saHeads = stage == Stage.MULTIHEAD || stage == Stage.FFWD
                ? new MultiHeadAttention(params, "sa_heads", c, config.nHead(), config.headSize(), false, config.bias(), 0)
                : null;
        ffwd = stage == Stage.FFWD ? FeedForward.single(params, "ffwd", c, config.bias()) : null;
        if (stage.usesBlocks()) {
            for (int i = 0; i < config.nLayer(); i++) {
                blocks.add(new Block(params, "blocks." + i, config, stage == Stage.GPT));
            }
        }
        lnF = stage == Stage.GPT ? new LayerNorm(params, "ln_f", c) : null;
        lmHead = new Linear(params, "lm_head", c, v, config.bias());
    }

    // ------------------------------------------------------------------------------ SameDiff: the reference definition

    @Override
    public SDVariable define(Graph g, SDVariable idx) {
        int c = config.nEmbd();
        SDVariable tok = tokenEmbedding.define(g, idx);                                              // [B*T, C]
        SDVariable positions = g.sd().constant("positions", Nd4j.arange(0, g.time()).castTo(DataType.INT32));
        SDVariable pos = positionEmbedding.define(g, positions);                                     // [T, C]
        // Every sequence of the batch gets the same position embeddings: [B, T, C] + [T, C]
        SDVariable x = g.sd().reshape(g.sd().reshape(tok, g.batch(), g.time(), c).add(pos), (long) g.batch() * g.time(), c);
        if (saHead != null) {
            x = saHead.define(g, x);
        }
        if (saHeads != null) {
            x = saHeads.define(g, x);
        }
        if (ffwd != null) {
            x = ffwd.define(g, x);
        }
        for (Block block : blocks) {
            x = block.define(g, x);
        }
        if (lnF != null) {
            x = lnF.define(g, x);
        }
        return lmHead.define(g, x);                                                                  // [B*T, V]
    }

    // --------------------------------------------------------------------- fast path: forward and backward, on the CPU

    @Override
    public LanguageModel.Pass pass(Shard s) {
        return new Pass(s);
    }

    /** One shard's forward and backward pass: the same composition, over the modules' passes. */
    final class Pass implements LanguageModel.Pass {
        final Shard s;
        final int[] positions;       // [N]: each row's position in its sequence
        final Embedding.Pass tok;
        final Embedding.Pass pos;
        final Head.Pass saHead;
        final MultiHeadAttention.Pass saHeads;
        final FeedForward.Pass ffwd;
        final Block.Pass[] blocks;
        final LayerNorm.Pass lnF;
        final Linear.Pass lmHead;
        final float[] x;             // [N, C] the embeddings, then (in the block stages) the residual stream

        Pass(Shard s) {
            this.s = s;
            int c = config.nEmbd();
            positions = new int[s.rows];
            for (int r = 0; r < s.rows; r++) {
                positions[r] = r % s.time;
            }
            tok = tokenEmbedding.pass(s);
            pos = positionEmbedding.pass(s);
            saHead = Gpt.this.saHead == null ? null : Gpt.this.saHead.pass(s);
            saHeads = Gpt.this.saHeads == null ? null : Gpt.this.saHeads.pass(s);
            ffwd = Gpt.this.ffwd == null ? null : Gpt.this.ffwd.pass(s);
            blocks = Gpt.this.blocks.stream().map(b -> b.pass(s)).toArray(Block.Pass[]::new);
            lnF = Gpt.this.lnF == null ? null : Gpt.this.lnF.pass(s);
            lmHead = Gpt.this.lmHead.pass(s);
            x = new float[s.rows * c];
        }

        /** x = token_embedding_table[idx] + position_embedding_table[t]: [N, C] */
        float[] embed(int[] idx) {
            float[] t = tok.forward(idx);
            float[] p = pos.forward(positions);
            for (int i = 0; i < x.length; i++) {
                x[i] = t[i] + p[i];
            }
            return x;
        }

        @Override
        public float[] forward(int[] idx) {
            float[] h = embed(idx);
            if (saHead != null) {
                h = saHead.forward(h);
            }
            if (saHeads != null) {
                h = saHeads.forward(h);
            }
            if (ffwd != null) {
                h = ffwd.forward(h);
            }
            for (Block.Pass b : blocks) {
                h = b.forward(h);            // in place: h stays x, the residual stream
            }
            if (lnF != null) {
                h = lnF.forward(h);
            }
            return lmHead.forward(h);
        }

        @Override
        public void backward(float[] dLogits) {
            float[] d = lmHead.backward(dLogits);
            if (lnF != null) {
                d = lnF.backward(d);
            }
            for (int i = blocks.length - 1; i >= 0; i--) {
                d = blocks[i].backward(d);   // in place
            }
            if (ffwd != null) {
                d = ffwd.backward(d);
            }
            if (saHeads != null) {
                d = saHeads.backward(d);
            }
            if (saHead != null) {
                d = saHead.backward(d);
            }
            tok.backward(d);                 // x = tok + pos: both get the same gradient
            pos.backward(d);
        }
    }

    // ------------------------------------------------------------------------------------- decoding: one position

    /**
     * Into how many row ranges, computed at once, a prefill's products are split (past block_size, sampling is mostly
     * prefills of one sequence). Two, the most that paid on the 2-core machines measured, when the window's q/k/v
     * product has at least a million multiply-adds; below that, handing half of each product to another thread
     * costs more than it saves (the T benchmark's 500-token sample: 0.46 ms per token in one part, 0.60-0.62 in two;
     * A's: 2.06-2.49 in one, 1.88-2.12 in two; docs/BENCHMARKS.md). Fixed by the model's size, not the machine, so
     * that a window gives the same numbers on any machine.
     */
    static int windowParts(GptConfig config) {
        long macs = (long) config.blockSize() * config.nEmbd() * 3L * config.nEmbd();
        return macs >= 1_000_000 ? 2 : 1;
    }

    @Override
    int windowParts() {
        return windowParts(config);
    }

    @Override
    public Decoder decoder() {
        return decoder(windowParts());
    }

    /** The decoder, its prefills split into {@code windowParts} (tests run both ways). */
    Decoder decoder(int windowParts) {
        return new Decoder() {
            final Head.Cache headCache = saHead == null ? null : saHead.cache(config.blockSize());
            final Head.Cache headsCache = saHeads == null ? null : saHeads.cache(config.blockSize());
            final Head.Cache[] blockCaches = blocks.stream().map(b -> b.cache(config.blockSize()))
                    .toArray(Head.Cache[]::new);
            Pass window;     // the fast path over a window of block_size positions, for prefills

            /**
             * The fast path's forward pass over the tokens, as far as the caches need: up to the last attention's
             * keys and values (past them, nothing is kept). Returns the last block's queries, keys and values [N, 3C]
             * (null in the stages without blocks); the window's residual stream holds what entered that block.
             */
            private FloatBuffer window(int[] tokens, int from, int count) {
                if (window == null) {
                    Shard w = new Shard(params, 1, config.blockSize(), 0, false);
                    w.parts = windowParts;
                    w.keepsOutputs = true;   // the blocks' keys and values, until the caches take them (fillPending)
                    w.mode(false, 0);
                    window = new Pass(w);
                }
                int[] idx = window.s.idx;
                java.util.Arrays.fill(idx, 0);   // what follows the tokens changes nothing before it (causality)
                System.arraycopy(tokens, from, idx, 0, count);
                float[] x = window.embed(idx);
                int c = config.nEmbd();
                int hs = config.headSize();
                if (saHead != null) {
                    Head.fill(headCache, window.saHead.qkv.forward(x), count, 1, c);
                }
                if (saHeads != null) {
                    Head.fill(headsCache, window.saHeads.qkv.forward(x), count, config.nHead(), hs);
                }
                FloatBuffer qkv = null;
                for (int i = 0; i < blocks.size(); i++) {
                    Block.Pass b = window.blocks[i];
                    if (i < blocks.size() - 1) {
                        b.forward(x);
                    } else {
                        qkv = b.keysAndValues(x);
                    }
                }
                // The last block's keys and values into its cache now, the heads split between the window's threads;
                // the other blocks' when a step needs them (fillPending). Past block_size a sample starts a window for
                // every token and steps only its last position, through the last block alone: the other caches would
                // be filled for nothing (each block keeps its own [N, 3C] product until the next window).
                if (!blocks.isEmpty()) {
                    pending = count;
                    fillBlocks(blocks.size() - 1, blocks.size(), count);
                }
                return qkv;
            }

            int pending;     // the positions of the last window whose keys and values blocks 0..L-2 have yet to get

            /** Blocks b0..b1-1's caches from the window's products, positions 0..count-1, on its threads. */
            private void fillBlocks(int b0, int b1, int count) {
                int heads = config.nHead();
                int hs = config.headSize();
                Parallel.run(windowParts, p -> {
                    for (int i = b0; i < b1; i++) {
                        Head.fill(blockCaches[i], window.blocks[i].lastKeysAndValues(), count, heads, hs,
                                p * heads / windowParts, (p + 1) * heads / windowParts);
                    }
                });
            }

            /** Before a step through every block: what the last window left for their caches. */
            private void fillPending() {
                if (pending > 0) {
                    fillBlocks(0, blocks.size() - 1, pending);
                    pending = 0;
                }
            }

            @Override
            public void reset() {
                super.reset();
                pending = 0;   // the caches are empty again: nothing to fill from a window
            }

            protected void fill(int[] tokens, int from, int count) {
                window(tokens, from, count);
            }

            /**
             * With blocks, the last token goes through the window with the others (its row is there anyway: the
             * window is block_size long), and only the last block's rest (attention, projection, feed-forward) and
             * the head are computed for it alone: a step through every layer would read every weight once more,
             * which on the gpt preset cost about a twelfth of the window's pass with the step on one thread
             * (docs/BENCHMARKS.md).
             */
            @Override
            protected float[] fillAndStep(int[] tokens, int from, int count) {
                if (blocks.isEmpty() || count == 1) {   // one token: a step (the window has block_size rows)
                    return super.fillAndStep(tokens, from, count);
                }
                FloatBuffer qkv = window(tokens, from, count);
                int c = config.nEmbd();
                int last = count - 1;
                float[] x = java.util.Arrays.copyOfRange(window.x, last * c, count * c);
                float[] q = new float[3 * c];
                qkv.get(last * 3 * c, q, 0, 3 * c);
                int b = blocks.size() - 1;
                x = blocks.get(b).stepFrom(blockCaches[b], x, q, last);
                if (lnF != null) {
                    x = lnF.step(x);
                }
                return lmHead.step(x);
            }

            protected float[] step(int token, int position) {
                fillPending();
                float[] x = tokenEmbedding.step(token);
                Block.add(x, positionEmbedding.step(position));
                if (saHead != null) {
                    x = saHead.step(headCache, x, position);
                }
                if (saHeads != null) {
                    x = saHeads.step(headsCache, x, position);
                }
                if (ffwd != null) {
                    x = ffwd.step(x);
                }
                for (int i = 0; i < blocks.size(); i++) {
                    x = blocks.get(i).step(blockCaches[i], x, position);
                }
                if (lnF != null) {
                    x = lnF.step(x);
                }
                return lmHead.step(x);
            }
        };
    }
}
