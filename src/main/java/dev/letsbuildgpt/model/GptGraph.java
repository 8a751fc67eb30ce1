package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One SameDiff graph of a {@link Gpt} for a fixed batch and time size, and the calls that run it.
 */
public final class GptGraph {
    public static final String INPUT = "idx";
    public static final String TARGETS = "targets";
    public static final String LOGITS = "logits";
    public static final String LOSS = "loss";

    private final Gpt model;
    private final SameDiff sd;
    private final Gpt.Mode mode;
    private final int batch;
    private final int time;
    private final Map<String, long[]> dropoutMasks;

    GptGraph(Gpt model, SameDiff sd, Gpt.Mode mode, int batch, int time, Map<String, long[]> dropoutMasks) {
        this.model = model;
        this.sd = sd;
        this.mode = mode;
        this.batch = batch;
        this.time = time;
        this.dropoutMasks = Map.copyOf(dropoutMasks);
    }

    /** The SameDiff graph itself, for inspection (variable names follow the module tree). */
    public SameDiff sameDiff() {
        return sd;
    }

    public int batchSize() {
        return batch;
    }

    public int time() {
        return time;
    }

    /** Logits [B, T, V] for token ids [B][T]. */
    public INDArray logits(int[][] idx) {
        return sd.output(feed(idx, null, 0), LOGITS).get(LOGITS);
    }

    /** Any named variable of the graph (for example the attention weights {@code blocks.0.sa.wei}). */
    public Map<String, INDArray> outputs(int[][] idx, String... names) {
        return sd.output(feed(idx, null, 0), names);
    }

    /** The mean cross-entropy loss of a batch (dropout as this graph's mode has it, seed 0). */
    public double loss(int[][] idx, int[][] targets) {
        requireLoss();
        return sd.output(feed(idx, targets, 0), LOSS).get(LOSS).getDouble(0);
    }

    /** Loss and the gradient of every parameter, by name. */
    public record LossAndGradients(double loss, Map<String, INDArray> gradients) {
    }

    /**
     * Forward and backward pass.
     *
     * @param dropoutSeed seeds this step's dropout masks (ignored without dropout)
     */
    public LossAndGradients lossAndGradients(int[][] idx, int[][] targets, long dropoutSeed) {
        requireLoss();
        List<String> names = model.parameters().names();
        prepareGradients();
        OutAndGrad r = sd.calculateGradientsAndOutputs(feed(idx, targets, dropoutSeed), List.of(LOSS), names);
        return new LossAndGradients(r.getOutputs().get(LOSS).getDouble(0), r.getGradients());
    }

    /** Forward and backward pass with the given dropout masks (by placeholder name) instead of drawn ones. */
    LossAndGradients lossAndGradients(int[][] idx, int[][] targets, Map<String, INDArray> masks) {
        requireLoss();
        prepareGradients();
        Map<String, INDArray> feed = feed(idx, targets, 0);
        feed.putAll(masks);
        OutAndGrad r = sd.calculateGradientsAndOutputs(feed, List.of(LOSS), model.parameters().names());
        return new LossAndGradients(r.getOutputs().get(LOSS).getDouble(0), r.getGradients());
    }

    /** Builds the backward graph now (once), keeping SameDiff's line-per-op chatter off System.out. */
    public void prepareGradients() {
        requireLoss();
        if (sd.getFunction("grad") == null) {
            Quiet.run(sd::createGradFunction);
        }
    }

    private void requireLoss() {
        if (mode == Gpt.Mode.INFER) {
            throw new IllegalStateException("an INFER graph has no loss; build a TRAIN or EVAL graph");
        }
    }

    /** The placeholders a training batch fills, in order: the tokens, then the dropout masks by name. */
    public String[] featureNames() {
        List<String> names = new java.util.ArrayList<>();
        names.add(INPUT);
        names.addAll(new java.util.TreeSet<>(dropoutMasks.keySet()));
        return names.toArray(String[]::new);
    }

    /** A training batch as SameDiff's fit takes it: features in {@link #featureNames()} order, targets as labels. */
    public org.nd4j.linalg.dataset.api.MultiDataSet dataSet(int[][] idx, int[][] targets, long dropoutSeed) {
        Map<String, INDArray> feed = feed(idx, targets, dropoutSeed);
        INDArray[] features = java.util.Arrays.stream(featureNames()).map(feed::get).toArray(INDArray[]::new);
        return new org.nd4j.linalg.dataset.MultiDataSet(features, new INDArray[]{feed.get(TARGETS)});
    }

    private Map<String, INDArray> feed(int[][] idx, int[][] targets, long dropoutSeed) {
        Map<String, INDArray> feed = new HashMap<>();
        feed.put(INPUT, tokens(idx));
        if (targets != null) {   // logits and other outputs of a training or evaluation graph do not need them
            feed.put(TARGETS, tokens(targets));
        }
        feed.putAll(drawDropoutMasks(dropoutMasks, model.config().dropout(), model.parameters().dataType(), dropoutSeed));
        return feed;
    }

    /**
     * One step's dropout masks, by name: 0 with probability p, else 1/(1-p). Drawn in name order from a stream seeded
     * by {@code seed}, so that a seed means the same masks every time.
     */
    static Map<String, INDArray> drawDropoutMasks(Map<String, long[]> shapes, double p, DataType dt, long seed) {
        Map<String, INDArray> masks = new HashMap<>();
        if (shapes.isEmpty()) {
            return masks;
        }
        Random rng = Nd4j.getRandomFactory().getNewRandomInstance(seed);
        for (String name : new java.util.TreeSet<>(shapes.keySet())) {
            INDArray uniform = Nd4j.rand(rng, shapes.get(name)).castTo(dt);
            masks.put(name, uniform.gte(p).castTo(dt).divi(1 - p));
        }
        return masks;
    }

    private INDArray tokens(int[][] ids) {
        if (ids == null) {
            throw new IllegalArgumentException("this output needs tokens");
        }
        if (ids.length != batch || ids[0].length != time) {
            throw new IllegalArgumentException("this graph takes [" + batch + ", " + time + "] tokens, got ["
                    + ids.length + ", " + ids[0].length + "]");
        }
        return Nd4j.createFromArray(ids);
    }
}
