package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the modules need while they add themselves to one SameDiff graph: the graph, the shared parameter
 * arrays, the static batch and time sizes, and whether this graph trains (with dropout) or not.
 *
 * <p>SameDiff has no train/eval switch, so training and inference are two graphs over the same arrays. Dropout
 * masks are placeholders filled by the trainer from a seeded stream: a dropout-free graph simply has none, and a
 * resumed run draws the same masks as an uninterrupted one.
 */
public final class GraphBuilder {
    final SameDiff sd;
    final Parameters params;
    final int batch;
    final int time;
    final boolean training;
    final double dropout;
    private final Map<String, long[]> dropoutMasks = new LinkedHashMap<>();

    GraphBuilder(SameDiff sd, Parameters params, int batch, int time, boolean training, double dropout) {
        this.sd = sd;
        this.params = params;
        this.batch = batch;
        this.time = time;
        this.training = training;
        this.dropout = dropout;
    }

    DataType dataType() {
        return params.dataType();
    }

    /** The graph variable of a parameter, wrapping the shared array (created on first use). */
    SDVariable param(String name) {
        SDVariable v = sd.getVariable(name);
        return v != null ? v : sd.var(name, params.get(name));
    }

    /**
     * Inverted dropout: during training, zero each value with probability p and scale the rest by 1/(1-p), so
     * that evaluation (no dropout, no scaling) sees activations of the same expected size.
     */
    SDVariable dropout(String name, SDVariable x, long... shape) {
        if (!training || dropout == 0) {
            return x;
        }
        String maskName = name + ".dropout_mask";
        dropoutMasks.put(maskName, shape);
        return x.mul(name + ".dropout", sd.placeHolder(maskName, dataType(), shape));
    }

    Map<String, long[]> dropoutMasks() {
        return dropoutMasks;
    }
}
