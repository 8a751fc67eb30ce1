package dev.letsbuildgpt.model;

import org.nd4j.autodiff.loss.LossReduce;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;

/**
 * The GPT language model (and, by {@link GptConfig#stage()}, each simpler model the lecture builds on the way).
 *
 * <pre>
 *   idx [B, T] -> token_embedding_table + position_embedding_table -> blocks -> ln_f -> lm_head -> logits [B, T, V]
 * </pre>
 *
 * The module tree, and so the parameter names, follow the lecture's gpt.py: {@code blocks.0.sa.heads.1.key.weight},
 * {@code blocks.0.ffwd.net.0.bias}, {@code ln_f.weight}, {@code lm_head.weight}. A {@code Gpt} owns its
 * {@link Parameters}; {@link #graph} builds a SameDiff graph over them for a given batch and time size.
 */
public final class Gpt {
    private final GptConfig config;
    private final Parameters params;

    // The modules; which are present depends on the stage. (Package-private: KvCacheDecoder walks them too.)
    final Embedding tokenEmbedding;
    final Embedding positionEmbedding;       // not in BIGRAM
    final MultiHeadAttention attention;      // HEAD, MULTIHEAD, FFWD
    final FeedForward feedForward;           // FFWD
    final List<Block> blocks = new ArrayList<>();  // RESIDUAL, GPT
    final LayerNorm lnF;                     // GPT
    final Linear lmHead;                     // all but BIGRAM

    public Gpt(GptConfig config, long seed) {
        this(config, seed, DataType.FLOAT);
    }

    /** @param dataType FLOAT for training; DOUBLE for gradient checks */
    public Gpt(GptConfig config, long seed, DataType dataType) {
        Backend.configure();
        this.config = config;
        this.params = new Parameters(dataType, seed);
        Stage stage = config.stage();
        int v = config.vocabSize();
        int c = config.nEmbd();
        if (stage == Stage.BIGRAM) {
            // Each token reads the logits for the next token straight off a row of the table.
            tokenEmbedding = new Embedding(params, "token_embedding_table", v, v);
            positionEmbedding = null;
            attention = null;
            feedForward = null;
            lnF = null;
            lmHead = null;
            return;
        }
        tokenEmbedding = new Embedding(params, "token_embedding_table", v, c);
        positionEmbedding = new Embedding(params, "position_embedding_table", config.blockSize(), c);
        switch (stage) {
            case HEAD -> {
                attention = MultiHeadAttention.singleHead(params, "sa_head", c);
                feedForward = null;
            }
            case MULTIHEAD, FFWD -> {
                attention = new MultiHeadAttention(params, "sa_heads", c, config.nHead(), config.headSize(),
                        false, config.bias());
                feedForward = stage == Stage.FFWD ? FeedForward.single(params, "ffwd", c, config.bias()) : null;
            }
            default -> {
                attention = null;
                feedForward = null;
                for (int i = 0; i < config.nLayer(); i++) {
                    blocks.add(new Block(params, "blocks." + i, config, stage == Stage.GPT));
                }
            }
        }
        lnF = stage == Stage.GPT ? new LayerNorm(params, "ln_f", c) : null;
        lmHead = new Linear(params, "lm_head", c, v, config.bias());
    }

    public GptConfig config() {
        return config;
    }

    public Parameters parameters() {
        return params;
    }

    /** What a graph is for: training (dropout on, loss), evaluation (no dropout, loss), inference (logits). */
    public enum Mode { TRAIN, EVAL, INFER }

    /**
     * Builds a graph over this model's parameter arrays. Shapes are static: SameDiff's reshapes need them.
     *
     * @param batch B, the number of sequences
     * @param time  T, at most block_size
     */
    public GptGraph graph(Mode mode, int batch, int time) {
        if (time > config.blockSize()) {
            throw new IllegalArgumentException("Cannot forward sequence of length " + time
                    + ", block size is only " + config.blockSize());
        }
        SameDiff sd = SameDiff.create();
        GraphBuilder g = new GraphBuilder(sd, params, batch, time, mode == Mode.TRAIN, config.dropout());
        SDVariable idx = sd.placeHolder(GptGraph.INPUT, DataType.INT32, batch, time);
        SDVariable flat = sd.reshape(idx, (long) batch * time);                    // [B*T]
        SDVariable logits = sd.reshape(GptGraph.LOGITS, forward(g, flat), batch, time, config.vocabSize());
        if (mode != Mode.INFER) {
            SDVariable targets = sd.placeHolder(GptGraph.TARGETS, DataType.INT32, batch, time);
            // Cross-entropy between softmax(logits) and the next tokens, averaged over all B*T positions.
            SDVariable labels = sd.oneHot(null, sd.reshape(targets, (long) batch * time), config.vocabSize(),
                    -1, 1.0, 0.0, params.dataType());
            SDVariable loss = sd.loss.softmaxCrossEntropy(GptGraph.LOSS, labels,
                    sd.reshape(logits, (long) batch * time, config.vocabSize()), null,
                    LossReduce.MEAN_BY_NONZERO_WEIGHT_COUNT, 0.0);
            sd.setLossVariables(loss);
        }
        return new GptGraph(this, sd, mode, batch, time, g.dropoutMasks());
    }

    /** tokens: [B*T] -> logits [B*T, V] */
    private SDVariable forward(GraphBuilder g, SDVariable tokens) {
        SDVariable x = tokenEmbedding.forward(g, tokens);  // [B*T, C] (or [B*T, V] for the bigram)
        if (config.stage() == Stage.BIGRAM) {
            return x;
        }
        // Position embeddings of 0..T-1 ([T, C]), added to every sequence of the batch.
        SDVariable positions = g.sd.constant("positions", Nd4j.arange(0, g.time).castTo(DataType.INT32));
        SDVariable pos = positionEmbedding.forward(g, positions);                       // [T, C]
        int c = config.nEmbd();
        x = g.sd.reshape(g.sd.reshape(x, g.batch, g.time, c).add(pos), (long) g.batch * g.time, c);
        if (attention != null) {
            x = attention.forward(g, x);
        }
        if (feedForward != null) {
            x = feedForward.forward(g, x);
        }
        for (Block block : blocks) {
            x = block.forward(g, x);
        }
        if (lnF != null) {
            x = lnF.forward(g, x);
        }
        return lmHead.forward(g, x);                                                    // [B*T, V]
    }
}
