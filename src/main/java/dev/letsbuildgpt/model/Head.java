package dev.letsbuildgpt.model;

/**
 * One head of self-attention: its key, query and value projections (no bias, as in the lecture).
 *
 * <p>Every position emits a query ("what am I looking for"), a key ("what do I contain") and a value ("what I
 * will tell you if you find me interesting"). The attention itself is {@link CausalSelfAttention#attend}; a
 * {@link MultiHeadAttention} runs all of its heads in one batched matmul.
 */
final class Head {
    final String key;
    final String query;
    final String value;

    Head(Parameters p, String name, int nEmbd, int headSize) {
        // Creation order key, query, value as in the lecture's Head, so a seed gives the same tables in every stage.
        this.key = new Linear(p, name + ".key", nEmbd, headSize, false).weight;
        this.query = new Linear(p, name + ".query", nEmbd, headSize, false).weight;
        this.value = new Linear(p, name + ".value", nEmbd, headSize, false).weight;
    }
}
