package dev.letsbuildgpt.train;

import dev.letsbuildgpt.AtomicFiles;
import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.data.Batches;
import dev.letsbuildgpt.data.Batches.Batch;
import dev.letsbuildgpt.data.Dataset;
import dev.letsbuildgpt.data.Dataset.Split;
import dev.letsbuildgpt.model.Backprop;
import dev.letsbuildgpt.model.LanguageModel;
import dev.letsbuildgpt.model.Shards;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The training loop of the lecture's gpt.py (and nanoGPT's train.py), reading top to bottom: every
 * {@code eval_interval} steps estimate the loss on both splits and save a checkpoint; in between, sample a batch,
 * compute the loss and its gradients, clip them if asked, and let AdamW update the parameters.
 *
 * <p>The gradients come from the CPU fast path, or from SameDiff's graph on a GPU ({@link Backprop}); everything
 * else is the same either way. A run directory holds {@code config.json} (the resolved configuration),
 * {@code metrics.jsonl}, {@code loss.png} and {@code checkpoint.zip}. Same seed, same settings: the same losses and
 * weights, bit for bit, on any number of cores; and a run resumed from a checkpoint continues exactly as if it had
 * never stopped.
 */
public final class Trainer implements AutoCloseable {
    private final RunConfig cfg;
    private final Dataset data;
    private final Path runDir;
    private final LanguageModel model;
    private final Backprop backprop;
    private final AdamW optimizer;
    private final Batches batches;
    private final Metrics metrics;
    private final Set<String> trainedBy = new LinkedHashSet<>();
    private int step;
    private Double bestValLoss;
    private RunLock lock;   // held from construction to the end of run(), and during each later run()

    private Trainer(RunConfig cfg, Dataset data, Path runDir, Checkpoint resumeFrom, Checkpoint weightsFrom) {
        this.cfg = cfg;
        this.data = data;
        this.runDir = runDir;
        this.lock = RunLock.acquire(runDir);   // before anything is written: one trainer per run directory
        AtomicFiles.deleteStaleTemps(runDir);
        TrainConfig t = cfg.train();
        this.batches = new Batches(data, t.batchSize(), cfg.model().blockSize(), t.seed() + 1);
        this.model = LanguageModel.create(cfg.model(), t.seed());
        this.backprop = Backprop.create(model, t.batchSize(), t.shards());
        this.optimizer = new AdamW(model.parameters(), t);
        if (resumeFrom != null) {
            model.parameters().assign(resumeFrom.params());
            optimizer.restore(resumeFrom.optimizer());
            batches.restore(resumeFrom.rngState());
            step = resumeFrom.step();
            bestValLoss = resumeFrom.bestValLoss();
            trainedBy.addAll(List.of(resumeFrom.trainedBy().split(",")));
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
        return new Trainer(resolved, data, runDir, null, null);
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
        return new Trainer(cfg, data, runDir, ck, null);
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

    public LanguageModel model() {
        return model;
    }

    public RunConfig config() {
        return cfg;
    }

    public List<Metrics.Evaluation> evaluations() {
        return metrics.evaluations();
    }

    /** The loss of every training step's batch so far. */
    public List<Metrics.StepLoss> stepLosses() {
        return metrics.steps();
    }

    /** The step the run is at: 0 for a new run, the checkpoint's step for a resumed one. */
    public int step() {
        return step;
    }

    /** Which way the gradients are computed: "fast" (the CPU fast path) or "samediff". */
    public String backprop() {
        return backprop.kind();
    }

    /** Trains to max_iters, silently; returns the last evaluation. */
    public Metrics.Evaluation run() {
        return run(Progress.silent());
    }

    /** Trains to max_iters, showing progress; returns the last evaluation. The run directory is locked meanwhile. */
    public Metrics.Evaluation run(Progress progress) {
        if (lock == null) {
            lock = RunLock.acquire(runDir);
        }
        try {
            return runLocked(progress);
        } finally {
            close();
        }
    }

    /** Releases the run directory for other trainers (run() does when it returns). */
    @Override
    public void close() {
        if (lock != null) {
            lock.close();
            lock = null;
        }
    }

    private Metrics.Evaluation runLocked(Progress progress) {
        TrainConfig t = cfg.train();
        List<Metrics.Evaluation> done = metrics.evaluations();
        Metrics.Evaluation last = done.isEmpty() ? null : done.get(done.size() - 1);
        long started = System.nanoTime();
        long intervalStart = started;
        int intervalSteps = 0;
        while (true) {
            boolean evalDue = step % t.evalInterval() == 0 || step == t.maxIters();
            if (evalDue && !(last != null && last.step() == step)) {   // a resumed run has this step's evaluation
                double tokensPerSec = intervalSteps == 0 ? 0
                        : intervalSteps * tokensPerStep() / ((System.nanoTime() - intervalStart) / 1e9);
                Double bestBefore = bestValLoss;
                last = evaluate(tokensPerSec, (System.nanoTime() - started) / 1e9);
                progress.evaluation(last);
                saveCheckpoint(bestBefore == null || last.valLoss() < bestBefore);
                intervalStart = System.nanoTime();
                intervalSteps = 0;
            }
            if (step >= t.maxIters()) {
                return last;
            }
            double loss = trainStep();
            intervalSteps++;
            progress.step(step, loss, intervalSteps * tokensPerStep() / ((System.nanoTime() - intervalStart) / 1e9));
        }
    }

    private double tokensPerStep() {
        return (double) cfg.train().batchSize() * cfg.model().blockSize();
    }

    /** n optimizer steps, with no loss estimate or checkpoint in between (the benchmark times this). */
    public void train(int n) {
        for (int i = 0; i < n; i++) {
            trainStep();
        }
    }

    /**
     * One optimizer step: a batch, its loss and gradients, global gradient-norm clipping if set (nanoGPT's
     * grad_clip), and AdamW's update. Returns the batch's loss.
     */
    private double trainStep() {
        TrainConfig t = cfg.train();
        Batch b = batches.next(Split.TRAIN);
        double loss = backprop.lossAndGradients(b.x(), b.y(), dropoutSeed(step));
        if (!Double.isFinite(loss)) {
            throw new GptException("the loss became " + loss + " at step " + step + "; stopping, and keeping the last"
                    + " good checkpoint. Try a lower --learning-rate (or --grad-clip 1)");
        }
        double scale = 1.0;
        if (t.gradClip() > 0) {
            double norm = backprop.gradients().norm();
            scale = norm > t.gradClip() ? t.gradClip() / (norm + 1e-6) : 1.0;
        }
        optimizer.step(backprop.gradients(), t.learningRateAt(step), step, scale);
        trainedBy.add(backprop.kind());
        metrics.step(new Metrics.StepLoss(step, loss));
        step++;
        return loss;
    }

    /** Each step's dropout masks come from a seed derived from the run's seed and the step. */
    private long dropoutSeed(int s) {
        return cfg.train().seed() * 1_000_003L + s;
    }

    /** The lecture's estimate_loss: the mean loss of eval_iters batches of each split, without dropout. */
    public double estimateLoss(Split split) {
        return meanLoss(backprop, batches, split, cfg.train().evalIters());
    }

    /**
     * estimate_loss for any model: the mean loss of {@code iters} batches of a split drawn from {@code batches}, on
     * the fast path ({@link Shards#DEFAULT} shards).
     */
    public static double estimateLoss(LanguageModel model, Batches batches, Split split, int iters) {
        return meanLoss(new Shards(model, batches.batchSize(), batches.blockSize(), Shards.DEFAULT, false), batches,
                split, iters);
    }

    private static double meanLoss(Backprop b, Batches batches, Split split, int iters) {
        double sum = 0;
        for (int i = 0; i < iters; i++) {
            Batch batch = batches.next(split);
            sum += b.loss(batch.x(), batch.y());
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

    private void saveCheckpoint(boolean best) {
        new Checkpoint(cfg, data.tokenizer().vocabulary(), step, batches.state(), bestValLoss,
                String.join(",", trainedBy.isEmpty() ? Set.of(backprop.kind()) : trainedBy),
                model.parameters().snapshot(), optimizer.state()).save(runDir, model.parameters());
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

    private void writeConfig() {
        AtomicFiles.write(runDir.resolve("config.json"), (Json.write(cfg) + "\n").getBytes(StandardCharsets.UTF_8));
    }
}
