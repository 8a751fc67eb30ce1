package dev.letsbuildgpt.train;

import dev.letsbuildgpt.AtomicFiles;
import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.data.Batches;
import dev.letsbuildgpt.data.Batches.Batch;
import dev.letsbuildgpt.data.Dataset;
import dev.letsbuildgpt.data.Dataset.Split;
import dev.letsbuildgpt.model.Gpt;
import dev.letsbuildgpt.model.GptGraph;
import dev.letsbuildgpt.model.ManualBackprop;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Loss;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.MultiDataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.regularization.WeightDecay;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training loop of the lecture's gpt.py, reading top to bottom: every {@code eval_interval} steps estimate the
 * loss on both splits and save a checkpoint; in between, sample a batch, compute the loss and its gradient, and
 * let AdamW update the parameters.
 *
 * <p>A run directory holds {@code config.json} (the resolved configuration), {@code metrics.jsonl},
 * {@code loss.png} and {@code checkpoint.zip}. Same seed, same settings, same machine: the same losses; and a run
 * resumed from a checkpoint continues exactly as if it had never stopped.
 */
public final class Trainer {
    private final RunConfig cfg;
    private final Dataset data;
    private final Path runDir;
    private Progress progress = Progress.silent();
    private final Gpt model;
    private final GptGraph trainGraph;
    private final GptGraph evalGraph;
    private final ManualBackprop manual;   // the full GPT's hand-written backward pass; null: SameDiff's fit
    private final Batches batches;
    private final Metrics metrics;
    private int step;
    private Double bestValLoss;

    private Trainer(RunConfig cfg, Dataset data, Path runDir, Checkpoint resumeFrom) {
        this(cfg, data, runDir, resumeFrom, null);
    }

    private Trainer(RunConfig cfg, Dataset data, Path runDir, Checkpoint resumeFrom, Checkpoint weightsFrom) {
        this.cfg = cfg;
        this.data = data;
        this.runDir = runDir;
        TrainConfig t = cfg.train();
        int block = cfg.model().blockSize();
        this.batches = new Batches(data, t.batchSize(), block, t.seed() + 1);
        this.model = new Gpt(cfg.model(), t.seed());
        this.trainGraph = model.graph(Gpt.Mode.TRAIN, t.batchSize(), block);
        // Without dropout the training graph computes exactly the evaluation loss; with it, a second graph over
        // the same arrays leaves dropout out.
        this.evalGraph = cfg.model().dropout() > 0 ? model.graph(Gpt.Mode.EVAL, t.batchSize(), block) : trainGraph;
        SameDiff sd = trainGraph.sameDiff();
        sd.setTrainingConfig(TrainingConfig.builder()
                .updater(new AdamW(t))
                .regularization(new WeightDecay(t.weightDecay(), true))  // decoupled: the W of AdamW
                .dataSetFeatureMapping(trainGraph.featureNames())
                .dataSetLabelMapping(GptGraph.TARGETS)
                .build());
        initializeTraining(sd);
        this.manual = useManualBackprop(cfg.model()) ? new ManualBackprop(model, t.batchSize()) : null;
        if (manual == null) {
            trainGraph.prepareGradients();
        }
        if (resumeFrom != null) {
            model.parameters().assign(resumeFrom.params());
            restoreOptimizer(resumeFrom.optimizer());
            batches.restore(resumeFrom.rngState());
            step = resumeFrom.step();
            bestValLoss = resumeFrom.bestValLoss();
            sd.getTrainingConfig().setIterationCount(step);
            metrics = Metrics.resume(runDir, step, plotTitle());
        } else {
            if (weightsFrom != null) {
                model.parameters().assign(weightsFrom.params());
            }
            writeConfig();
            metrics = Metrics.create(runDir, plotTitle());
        }
    }

    private String plotTitle() {
        var m = cfg.model();
        return String.format("%s: %s, %,d parameters (estimate_loss every %d steps)", cfg.preset(), m.stage().id(),
                model.parameters().count(), cfg.train().evalInterval());
    }

    /** A new run in {@code runDir}. */
    public static Trainer start(RunConfig cfg, Dataset data, Path runDir) {
        RunConfig resolved = cfg.withVocabSize(data.tokenizer().vocabSize());
        return new Trainer(resolved, data, runDir, null);
    }

    /**
     * Continues the run in {@code runDir} from its checkpoint, on the same data.
     *
     * @param maxIters a new end for the run, or null to keep the checkpoint's
     */
    public static Trainer resume(Path runDir, Dataset data, Integer maxIters) {
        return resume(Checkpoint.load(runDir), runDir, data, maxIters);
    }

    /** Continues a run from a checkpoint already loaded from {@code runDir}. */
    public static Trainer resume(Checkpoint ck, Path runDir, Dataset data, Integer maxIters) {
        if (!ck.tokenizer().equals(data.tokenizer())) {
            throw new GptException("the checkpoint in " + runDir + " was trained on a different vocabulary than this data");
        }
        RunConfig cfg = maxIters == null ? ck.config() : ck.config().with("max-iters", String.valueOf(maxIters));
        return new Trainer(cfg, data, runDir, ck);
    }

    /**
     * Fine-tuning: a new run in {@code runDir} that starts from a trained model's weights (not its optimizer state or
     * step count) and trains them on other data with other training settings, typically a smaller learning rate and
     * a few hundred steps. The model's shape and vocabulary stay the checkpoint's.
     */
    public static Trainer fineTune(Checkpoint base, TrainConfig train, Dataset data, Path runDir) {
        if (!base.tokenizer().equals(data.tokenizer())) {
            throw new GptException("fine-tuning needs the pretrained model's vocabulary; this data's differs");
        }
        return new Trainer(base.config().withTrain(train), data, runDir, null, base);
    }

    public Gpt model() {
        return model;
    }

    public RunConfig config() {
        return cfg;
    }

    public List<Metrics.Evaluation> evaluations() {
        return metrics.evaluations();
    }

    /** The step the run is at: 0 for a new run, the checkpoint's step for a resumed one. */
    public int step() {
        return step;
    }

    /** Trains to max_iters, silently; returns the last evaluation. */
    public Metrics.Evaluation run() {
        return run(Progress.silent());
    }

    /** Trains to max_iters, showing progress; returns the last evaluation. */
    public Metrics.Evaluation run(Progress progress) {
        this.progress = progress;
        TrainConfig t = cfg.train();
        long started = System.nanoTime();
        Metrics.Evaluation last = metrics.evaluations().isEmpty() ? null
                : metrics.evaluations().get(metrics.evaluations().size() - 1);
        double tokensPerSec = 0;
        while (true) {
            boolean evalDue = step % t.evalInterval() == 0 || step == t.maxIters();
            if (evalDue && !(last != null && last.step() == step)) {   // a resumed run has this step's evaluation
                Double bestBefore = bestValLoss;
                last = evaluate(tokensPerSec, (System.nanoTime() - started) / 1e9);
                progress.evaluation(last);
                saveCheckpoint(bestBefore == null || last.valLoss() < bestBefore);
            }
            if (step >= t.maxIters()) {
                return last;
            }
            int n = Math.min(t.evalInterval() - step % t.evalInterval(), t.maxIters() - step);
            long t0 = System.nanoTime();
            trainSteps(n);
            tokensPerSec = (double) n * t.batchSize() * cfg.model().blockSize() / ((System.nanoTime() - t0) / 1e9);
        }
    }

    /**
     * Whether training runs {@link ManualBackprop} (the default for the full GPT on CPU: several times faster) or
     * SameDiff's own training loop over the graph (the lecture's earlier models, and GPUs, where SameDiff runs the
     * graph on the device). {@code -Dgpt.backprop=samediff} chooses SameDiff on CPU too, to compare the two.
     */
    static boolean useManualBackprop(dev.letsbuildgpt.model.GptConfig model) {
        return ManualBackprop.supports(model) && dev.letsbuildgpt.model.Backend.isCpu()
                && !"samediff".equals(System.getProperty("gpt.backprop"));
    }

    /** The lecture's estimate_loss: the mean loss of eval_iters batches of each split, without dropout. */
    public double estimateLoss(Split split) {
        if (manual != null) {
            manual.pull(null, null);   // the model's current weights
            return meanLoss(manual::loss, batches, split, cfg.train().evalIters());
        }
        return estimateLoss(evalGraph, batches, split, cfg.train().evalIters());
    }

    /** estimate_loss for any dropout-free graph: the mean loss of {@code iters} batches of a split. */
    public static double estimateLoss(GptGraph graph, Batches batches, Split split, int iters) {
        return meanLoss(graph::loss, batches, split, iters);
    }

    private static double meanLoss(java.util.function.ToDoubleBiFunction<int[][], int[][]> loss, Batches batches,
                                   Split split, int iters) {
        double sum = 0;
        for (int i = 0; i < iters; i++) {
            Batch b = batches.next(split);
            sum += loss.applyAsDouble(b.x(), b.y());
        }
        return sum / iters;
    }

    private Metrics.Evaluation evaluate(double tokensPerSec, double elapsed) {
        double train = estimateLoss(Split.TRAIN);
        double val = estimateLoss(Split.VAL);
        if (!Double.isFinite(train) || !Double.isFinite(val)) {
            throw new GptException("the loss became " + (Double.isFinite(train) ? val : train) + " by step " + step
                    + "; stopping, and keeping the last good checkpoint. Try a lower --learning-rate (or --grad-clip 1)");
        }
        Metrics.Evaluation e = new Metrics.Evaluation(step, train, val, cfg.train().learningRateAt(step),
                tokensPerSec, elapsed);
        metrics.add(e);
        if (bestValLoss == null || val < bestValLoss) {
            bestValLoss = val;
        }
        return e;
    }

    /**
     * n optimizer steps, with no loss estimate or checkpoint in between (what {@link #run} does between
     * evaluations; the benchmark times this).
     */
    public void train(int n) {
        trainSteps(n);
    }

    /** n optimizer steps through SameDiff's training loop, which updates the shared parameter arrays in place. */
    private void trainSteps(int n) {
        SameDiff sd = trainGraph.sameDiff();
        StepListener listener = new StepListener();
        if (manual != null) {
            // The hand-written pass and AdamW run on their own copies of the weights and the optimizer state, taken
            // from the model and SameDiff's updaters before the steps and put back after them.
            manual.pull(adamState("M"), adamState("V"));
            for (int i = 0; i < n; i++) {
                manualStep(step + i);
                listener.iterationDone(sd, null, null, null);
            }
            manual.push(adamState("M"), adamState("V"));
            sd.getTrainingConfig().setIterationCount(step + n);
        } else if (cfg.train().gradClip() > 0) {
            // Clipping needs every gradient before any update, which SameDiff's fit does not offer: do the step here.
            for (int i = 0; i < n; i++) {
                clippedStep(step + i);
                listener.iterationDone(sd, null, null, null);
            }
            sd.getTrainingConfig().setIterationCount(step + n);
        } else {
            sd.fit(new BatchIterator(n), 1, listener);
        }
        step += n;
    }

    /** Feeds n training batches (and their dropout masks) to SameDiff's fit. */
    private final class BatchIterator implements MultiDataSetIterator {
        private final int n;
        private int i;

        BatchIterator(int n) {
            this.n = n;
        }

        @Override
        public boolean hasNext() {
            return i < n;
        }

        @Override
        public MultiDataSet next() {
            Batch b = batches.next(Split.TRAIN);
            long dropoutSeed = dropoutSeed(step + i);
            i++;
            return trainGraph.dataSet(b.x(), b.y(), dropoutSeed);
        }

        @Override
        public MultiDataSet next(int num) {
            return next();
        }

        @Override
        public void setPreProcessor(MultiDataSetPreProcessor preProcessor) {
            throw new UnsupportedOperationException();
        }

        @Override
        public MultiDataSetPreProcessor getPreProcessor() {
            return null;
        }

        @Override
        public boolean resetSupported() {
            return false;
        }

        @Override
        public boolean asyncSupported() {
            return false;  // batches must be drawn in order from the one seeded stream
        }

        @Override
        public void reset() {
            throw new UnsupportedOperationException();
        }
    }

    /** One step of the hand-written backprop and AdamW, with global gradient-norm clipping if set. */
    private void manualStep(int s) {
        TrainConfig t = cfg.train();
        Batch b = batches.next(Split.TRAIN);
        manual.lossAndGradients(b.x(), b.y(), dropoutSeed(s));
        double scale = 1.0;
        if (t.gradClip() > 0) {
            double norm = manual.gradientNorm();
            scale = norm > t.gradClip() ? t.gradClip() / (norm + 1e-6) : 1.0;
        }
        manual.adamW(t.learningRateAt(s), t.beta1(), t.beta2(), AdamW.EPS, t.weightDecay(), s, scale);
    }

    /** SameDiff's AdamW state (its first or second moments) of a parameter, by name. */
    @SuppressWarnings("unchecked")
    private java.util.function.Function<String, INDArray> adamState(String key) {
        Map<String, GradientUpdater> updaters = trainGraph.sameDiff().getUpdaterMap();
        return name -> ((Map<String, INDArray>) updaters.get(name).getState()).get(key);
    }

    /**
     * One step with global gradient-norm clipping (nanoGPT's grad_clip) on SameDiff's gradients, doing by hand what
     * fit does: AdamW's update, plus decoupled weight decay, subtracted from each parameter.
     */
    private void clippedStep(int s) {
        TrainConfig t = cfg.train();
        Batch b = batches.next(Split.TRAIN);
        GptGraph.LossAndGradients r = trainGraph.lossAndGradients(b.x(), b.y(), dropoutSeed(s));
        double sq = 0;
        for (INDArray g : r.gradients().values()) {
            double norm = g.norm2Number().doubleValue();
            sq += norm * norm;
        }
        double norm = Math.sqrt(sq);
        double scale = norm > t.gradClip() ? t.gradClip() / (norm + 1e-6) : 1.0;
        double lr = t.learningRateAt(s);
        Map<String, GradientUpdater> updaters = trainGraph.sameDiff().getUpdaterMap();
        model.parameters().asMap().forEach((name, p) -> {
            INDArray g = r.gradients().get(name).muli(scale);
            updaters.get(name).applyUpdater(g, s, 0);
            p.subi(g.addi(p.mul(lr * t.weightDecay())));
        });
    }

    /** Each step's dropout masks come from a seed derived from the run's seed and the step. */
    private long dropoutSeed(int s) {
        return cfg.train().seed() * 1_000_003L + s;
    }

    /**
     * Reports each step. (SameDiff's fit computes the loss's gradient without the loss itself, so the step's loss is
     * not known here; the progress shows the last estimate_loss instead.)
     */
    private final class StepListener extends BaseListener {
        private final long t0 = System.nanoTime();
        private int done;

        @Override
        public boolean isActive(Operation operation) {
            return operation == Operation.TRAINING;
        }

        @Override
        public void iterationDone(SameDiff sd, At at, MultiDataSet dataSet, Loss loss) {
            done++;
            double seconds = (System.nanoTime() - t0) / 1e9;
            progress.step(step + done, (double) done * cfg.train().batchSize() * cfg.model().blockSize() / seconds);
        }
    }

    private void saveCheckpoint(boolean best) {
        Map<String, INDArray> optimizer = new LinkedHashMap<>();
        trainGraph.sameDiff().getUpdaterMap().forEach((name, u) ->
                ((Map<String, INDArray>) u.getState()).forEach((k, a) -> optimizer.put(name + "." + k, a)));
        new Checkpoint(cfg, data.tokenizer().vocabulary(), step, batches.state(), bestValLoss,
                model.parameters().asMap(), optimizer).save(runDir);
        Path latest = runDir.resolve(Checkpoint.FILE_NAME);
        if (best) {
            Checkpoint.link(latest, runDir.resolve(Checkpoint.BEST_NAME));
        }
        // The last keep_checkpoints checkpoints, by step; older ones are deleted once the new one is complete.
        Path history = runDir.resolve(Checkpoint.HISTORY_DIR);
        Checkpoint.link(latest, history.resolve(String.format("step-%07d.zip", step)));
        try (var files = Files.list(history)) {
            List<Path> old = files.filter(f -> f.getFileName().toString().matches("step-\\d+\\.zip"))
                    .sorted(java.util.Comparator.reverseOrder()).skip(cfg.train().keepCheckpoints()).toList();
            for (Path f : old) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            throw new GptException("cannot tidy " + history + ": " + e.getMessage());
        }
    }

    @SuppressWarnings("unchecked")
    private void restoreOptimizer(Map<String, INDArray> saved) {
        for (Map.Entry<String, GradientUpdater> e : trainGraph.sameDiff().getUpdaterMap().entrySet()) {
            Map<String, INDArray> state = e.getValue().getState();
            for (Map.Entry<String, INDArray> s : state.entrySet()) {
                INDArray a = saved.get(e.getKey() + "." + s.getKey());
                if (a == null || a.length() != s.getValue().length()) {
                    throw new GptException("checkpoint optimizer state does not match the model ("
                            + e.getKey() + ")");
                }
                s.getValue().assign(a.reshape(s.getValue().shape()));
            }
        }
    }

    /** SameDiff creates the optimizer state on the first fit; resuming needs it before, to fill it in. */
    private static void initializeTraining(SameDiff sd) {
        try {
            var m = SameDiff.class.getDeclaredMethod("initializeTraining");
            m.setAccessible(true);
            m.invoke(sd);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this SameDiff version cannot be initialised for training", e);
        }
    }

    private void writeConfig() {
        AtomicFiles.write(runDir.resolve("config.json"), (Json.write(cfg) + "\n").getBytes(StandardCharsets.UTF_8));
    }
}
