package dev.letsbuildgpt.model;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A SameDiff graph of modules for a fixed batch and time size: what the modules' {@code define} methods add
 * themselves to, and the calls that run it.
 *
 * <p>The graph's variables are copies of the model's parameters (in float32, or in double for gradient checks),
 * refreshed before a run whenever the parameters have changed since the last one. SameDiff has no train/eval switch,
 * so a TRAIN graph (with dropout) and an EVAL graph (without) are two graphs; dropout masks are placeholders, filled
 * from {@link Dropout}'s seeded streams.
 */
public final class Graph {
    /** What a graph is for: training (dropout on, loss), evaluation (no dropout, loss), inference (logits). */
    public enum Mode { TRAIN, EVAL, INFER }

    public static final String INPUT = "idx";
    public static final String TARGETS = "targets";
    public static final String LOGITS = "logits";
    public static final String LOSS = "loss";

    private final SameDiff sd = SameDiff.create();
    private final Parameters params;
    private final Mode mode;
    private final int batch;
    private final int time;
    private final DataType dataType;
    private final Map<String, Parameters.Parameter> variables = new LinkedHashMap<>();
    private final Map<String, Dropout> dropouts = new LinkedHashMap<>();
    private final Map<String, long[]> maskShapes = new LinkedHashMap<>();
    private long loaded;

    /**
     * An empty graph over {@code params}, to define modules in: give it inputs with {@link #input}, then call a
     * module's {@code define}. (A model's whole graph: {@link LanguageModel#graph}.)
     */
    public Graph(Parameters params, Mode mode, int batch, int time, DataType dataType) {
        this.params = params;
        this.mode = mode;
        this.batch = batch;
        this.time = time;
        this.dataType = dataType;
        this.loaded = params.version();
    }

    static Graph of(LanguageModel model, Mode mode, int batch, int time, DataType dataType) {
        GptConfig c = model.config();
        if (time > c.blockSize()) {
            throw new IllegalArgumentException("Cannot forward sequence of length " + time + ", block size is only "
                    + c.blockSize());
        }
        Graph g = new Graph(model.parameters(), mode, batch, time, dataType);
        SameDiff sd = g.sd;
        SDVariable idx = sd.placeHolder(INPUT, DataType.INT32, batch, time);
        SDVariable logits = model.define(g, sd.reshape(idx, (long) batch * time));        // [B*T, V]
        sd.reshape(LOGITS, logits, batch, time, c.vocabSize());
        if (mode != Mode.INFER) {
            SDVariable targets = sd.placeHolder(TARGETS, DataType.INT32, batch, time);
            SDVariable loss = CrossEntropy.define(g, LOSS, logits, sd.reshape(targets, (long) batch * time),
                    c.vocabSize());
            sd.setLossVariables(loss);
        }
        return g;
    }

    // ------------------------------------------------------------------------------------ what modules define with

    public SameDiff sd() {
        return sd;
    }

    public int batch() {
        return batch;
    }

    public int time() {
        return time;
    }

    public boolean training() {
        return mode == Mode.TRAIN;
    }

    public DataType dataType() {
        return dataType;
    }

    /** A placeholder of this graph's data type, for a module's input. */
    public SDVariable input(String name, long... shape) {
        return sd.placeHolder(name, dataType, shape);
    }

    /** The graph variable of a parameter, named as the parameter (created on first use from its current values). */
    public SDVariable param(Parameters.Parameter p) {
        SDVariable v = sd.getVariable(p.name());
        if (v == null) {
            v = sd.var(p.name(), values(p));
            variables.put(p.name(), p);
        }
        return v;
    }

    private INDArray values(Parameters.Parameter p) {
        return Nd4j.create(p.gather(p.tensor().data), p.shape(), 'c').castTo(dataType);
    }

    /** A dropout's mask placeholder ({@code name.mask}): 0 with probability p, else 1/(1-p). */
    SDVariable dropoutMask(Dropout d, long... shape) {
        String name = d.name + ".mask";
        dropouts.put(name, d);
        maskShapes.put(name, shape);
        return sd.placeHolder(name, dataType, shape);
    }

    // ----------------------------------------------------------------------------------------------------- running

    /** Logits [B, T, V] for token ids [B][T]. */
    public INDArray logits(int[][] idx) {
        return run(feed(idx, null, 0), LOGITS).get(LOGITS);
    }

    /** Any named variables of the graph (for example a head's attention weights, {@code blocks.0.sa.heads.0.wei}). */
    public Map<String, INDArray> outputs(int[][] idx, String... names) {
        return run(feed(idx, null, 0), names);
    }

    /** The mean cross-entropy loss of a batch (dropout masks, in a TRAIN graph, from seed 0). */
    public double loss(int[][] idx, int[][] targets) {
        requireLoss();
        return run(feed(idx, targets, 0), LOSS).get(LOSS).getDouble(0);
    }

    /** Loss and the gradient of every parameter, by parameter name. */
    public record LossAndGradients(double loss, Map<String, INDArray> gradients) {
    }

    /**
     * Forward and backward pass by SameDiff's automatic differentiation.
     *
     * @param dropoutSeed this step's dropout masks (as {@link Dropout} draws them; ignored without dropout)
     */
    public LossAndGradients lossAndGradients(int[][] idx, int[][] targets, long dropoutSeed) {
        requireLoss();
        OutAndGrad r = gradients(feed(idx, targets, dropoutSeed), LOSS);
        return new LossAndGradients(r.getOutputs().get(LOSS).getDouble(0), r.getGradients());
    }

    /** Runs the graph on placeholder values (dropout masks are added from {@code dropoutSeed}). */
    public Map<String, INDArray> run(Map<String, INDArray> feed, long dropoutSeed, String... outputs) {
        Map<String, INDArray> all = new HashMap<>(feed);
        all.putAll(masks(dropoutSeed));
        return run(all, outputs);
    }

    /** The outputs named and the gradients of every parameter variable of the graph (and any other variables named). */
    public OutAndGrad gradients(Map<String, INDArray> feed, String loss, String... alsoWithRespectTo) {
        load();
        if (sd.getLossVariables().isEmpty()) {
            sd.setLossVariables(loss);
        }
        if (sd.getFunction("grad") == null) {
            Quiet.run(sd::createGradFunction);   // SameDiff prints a line per op while it differentiates
        }
        List<String> wrt = new java.util.ArrayList<>(variables.keySet());
        wrt.addAll(List.of(alsoWithRespectTo));
        return sd.calculateGradientsAndOutputs(feed, List.of(loss), wrt);
    }

    /** Gradients with placeholder values and this seed's dropout masks. */
    public OutAndGrad gradients(Map<String, INDArray> feed, long dropoutSeed, String loss, String... alsoWithRespectTo) {
        Map<String, INDArray> all = new HashMap<>(feed);
        all.putAll(masks(dropoutSeed));
        return gradients(all, loss, alsoWithRespectTo);
    }

    /** The graph's own copy of a parameter's values (writes to it last until the parameters next change). */
    public INDArray variable(String parameterName) {
        load();
        INDArray a = sd.getArrForVarName(parameterName);
        if (a == null) {
            throw new IllegalArgumentException("this graph has no variable " + parameterName);
        }
        return a;
    }

    /** The SameDiff graph itself, for inspection (variable names follow the module tree). */
    public SameDiff sameDiff() {
        return sd;
    }

    private Map<String, INDArray> run(Map<String, INDArray> feed, String... outputs) {
        load();
        return sd.output(feed, outputs);
    }

    /** Copies the parameters' values in if they changed since the graph last had them. */
    private void load() {
        if (loaded == params.version()) {
            return;
        }
        variables.forEach((name, p) -> sd.getArrForVarName(name).assign(values(p)));
        loaded = params.version();
    }

    private void requireLoss() {
        if (mode == Mode.INFER) {
            throw new IllegalStateException("an INFER graph has no loss; build a TRAIN or EVAL graph");
        }
    }

    private Map<String, INDArray> feed(int[][] idx, int[][] targets, long dropoutSeed) {
        Map<String, INDArray> feed = new HashMap<>();
        feed.put(INPUT, tokens(idx));
        if (targets != null) {   // logits and other outputs do not need them
            feed.put(TARGETS, tokens(targets));
        }
        feed.putAll(masks(dropoutSeed));
        return feed;
    }

    /** This step's dropout masks, by placeholder name. */
    private Map<String, INDArray> masks(long seed) {
        Map<String, INDArray> masks = new HashMap<>();
        dropouts.forEach((name, d) -> {
            long[] shape = maskShapes.get(name);
            long size = 1;
            for (long s : shape) {
                size *= s;
            }
            float[] m = d.mask(seed, batch, Math.toIntExact(size / batch));
            masks.put(name, Nd4j.create(m, shape, 'c').castTo(dataType));
        });
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
