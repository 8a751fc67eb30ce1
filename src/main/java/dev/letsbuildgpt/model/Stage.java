package dev.letsbuildgpt.model;

/**
 * The lecture builds the GPT in steps; each step is a model that can be trained on its own. {@link
 * LanguageModel#create} makes the model of a stage: the {@link BigramLanguageModel}, or a {@link Gpt} composed of the
 * stage's modules.
 */
public enum Stage {
    /** A vocab x vocab table: the logits for the next character are a row looked up by the current one. */
    BIGRAM,
    /** Token + position embeddings, one self-attention head of size n_embd, a linear head. */
    HEAD,
    /** n_head heads of size n_embd / n_head, outputs concatenated (no projection). */
    MULTIHEAD,
    /** MULTIHEAD followed by one Linear(n_embd, n_embd) + ReLU ("the tokens think about what they found"). */
    FFWD,
    /** n_layer blocks with residual connections, an output projection in attention and a 4x feed-forward. */
    RESIDUAL,
    /** RESIDUAL with pre-LayerNorm in each block and a final LayerNorm: the full GPT of gpt.py. */
    GPT;

    /** The stage's name as presets and the CLI write it. */
    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public boolean usesBlocks() {
        return this == RESIDUAL || this == GPT;
    }
}
