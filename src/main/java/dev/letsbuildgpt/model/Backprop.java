package dev.letsbuildgpt.model;

/**
 * Where a training step's loss and gradients come from: the fast path on the CPU ({@link Shards}), or SameDiff's
 * automatic differentiation of the graph ({@link GraphBackprop}), which is what runs on a GPU. Either way the
 * gradients land in the same {@link Gradients}, for the same optimizer.
 */
public interface Backprop {
    /** The mean loss of a training batch (dropout from {@code dropoutSeed}); its gradients into {@link #gradients()}. */
    double lossAndGradients(int[][] x, int[][] y, long dropoutSeed);

    /** The mean loss of a batch without dropout (estimate_loss). */
    double loss(int[][] x, int[][] y);

    /** The gradients of the last {@link #lossAndGradients}. */
    Gradients gradients();

    /** Which path this is, as checkpoints record it: "fast" or "samediff". */
    String kind();

    /** The path for this backend: the fast path on the CPU (unless -Dgpt.backprop=samediff), SameDiff elsewhere. */
    static Backprop create(LanguageModel model, int batch, int shards) {
        boolean sameDiff = !Backend.isCpu() || "samediff".equals(System.getProperty("gpt.backprop"));
        int time = model.config().blockSize();
        return sameDiff ? new GraphBackprop(model, batch, time) : new Shards(model, batch, time, shards, true);
    }
}
