package dev.letsbuildgpt.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Training through SameDiff: the model's graph differentiated automatically, its gradients copied into
 * {@link Gradients} for the optimizer. What GPU backends run (ND4J computes the graph on the device); on the CPU
 * the fast path does the same arithmetic several times faster ({@code -Dgpt.backprop=samediff} chooses this to
 * compare).
 */
public final class GraphBackprop implements Backprop {
    private final Graph train;
    private final Graph eval;
    private final Gradients gradients;

    public GraphBackprop(LanguageModel model, int batch, int time) {
        this.train = model.graph(Graph.Mode.TRAIN, batch, time);
        // Without dropout, the training graph computes exactly the evaluation loss.
        this.eval = model.config().dropout() > 0 ? model.graph(Graph.Mode.EVAL, batch, time) : train;
        this.gradients = new Gradients(model.parameters());
    }

    @Override
    public double lossAndGradients(int[][] x, int[][] y, long dropoutSeed) {
        Graph.LossAndGradients r = train.lossAndGradients(x, y, dropoutSeed);
        r.gradients().forEach((name, g) -> gradients.set(name, floats(g)));
        return r.loss();
    }

    @Override
    public double loss(int[][] x, int[][] y) {
        return eval.loss(x, y);
    }

    @Override
    public Gradients gradients() {
        return gradients;
    }

    @Override
    public String kind() {
        return "samediff";
    }

    /** The training graph (for notebooks that look inside it). */
    public Graph graph() {
        return train;
    }

    static float[] floats(INDArray a) {
        return a.castTo(DataType.FLOAT).dup('c').data().asFloat();
    }
}
