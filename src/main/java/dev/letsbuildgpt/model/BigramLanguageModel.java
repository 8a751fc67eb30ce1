package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;

/**
 * The lecture's first model: a [V, V] table whose row for the current token holds the logits of the next one. It
 * looks at one token only; every later model is about letting positions look further back.
 */
public final class BigramLanguageModel extends LanguageModel {
    final Embedding tokenEmbedding;   // token_embedding_table: [V, V]

    public BigramLanguageModel(GptConfig config, long seed) {
        this(config, new Parameters(seed));
    }

    BigramLanguageModel(GptConfig config, Parameters params) {
        super(config, params);
        if (config.stage() != Stage.BIGRAM) {
            throw new IllegalArgumentException("a bigram model's configuration has the BIGRAM stage, not " + config.stage());
        }
        int v = config.vocabSize();
        tokenEmbedding = new Embedding(params, "token_embedding_table", v, v);
    }

    // ------------------------------------------------------------------------------ SameDiff: the reference definition

    @Override
    public SDVariable define(Graph g, SDVariable idx) {
        return tokenEmbedding.define(g, idx);   // [B*T, V]: the logits are the table's rows
    }

    // --------------------------------------------------------------------- fast path: forward and backward, on the CPU

    @Override
    public LanguageModel.Pass pass(Shard s) {
        Embedding.Pass table = tokenEmbedding.pass(s);
        return new LanguageModel.Pass() {
            public float[] forward(int[] idx) {
                return table.forward(idx);
            }

            public void backward(float[] dLogits) {
                table.backward(dLogits);
            }
        };
    }

    // ------------------------------------------------------------------------------------- decoding: one position

    @Override
    public Decoder decoder() {
        return new Decoder() {
            protected float[] step(int token, int pos) {
                return tokenEmbedding.step(token);
            }

            protected void fill(int[] tokens, int from, int count) {
                // a bigram looks at one token only: earlier ones leave nothing behind
            }
        };
    }
}
