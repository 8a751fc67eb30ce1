package dev.letsbuildgpt.cli;

import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.data.Dataset;
import dev.letsbuildgpt.sample.Sampler;
import dev.letsbuildgpt.train.Checkpoint;
import dev.letsbuildgpt.train.Metrics;
import dev.letsbuildgpt.train.Progress;
import dev.letsbuildgpt.train.RunConfig;
import dev.letsbuildgpt.train.Trainer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model from a preset, with any setting overridden; writes config.json, metrics.jsonl,"
                + " loss.png and checkpoint.zip into the run directory.")
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "cpu", paramLabel = "NAME",
            description = "bigram, head, multihead, ffwd, residual, layernorm, notebook, cpu, gpt (default: ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--out", paramLabel = "DIR", description = "Run directory (default: runs/PRESET)")
    Path out;

    @Option(names = "--resume", description = "Continue the run in --out from its checkpoint")
    boolean resume;

    @Option(names = "--force", description = "Start over in a directory that already holds a run")
    boolean force;

    @Option(names = "--init", paramLabel = "DIR", description = "Start from the weights of the checkpoint in DIR (a"
            + " pretrained model, or one made by `gpt import`) with a fresh optimizer: the model's settings and"
            + " vocabulary come from it, the training settings from this command")
    Path init;

    @Option(names = "--sample-tokens", defaultValue = "500", paramLabel = "N",
            description = "Characters to sample when training ends (default: ${DEFAULT-VALUE}; 0 for none)")
    int sampleTokens;

    @Mixin
    Common.DataOption data = new Common.DataOption();

    @ArgGroup(exclusive = false, heading = "%nOverrides (the lecture's names, in kebab case):%n")
    Overrides overrides = new Overrides();

    static final class Overrides {
        @Option(names = "--batch-size", paramLabel = "N") Integer batchSize;
        @Option(names = "--block-size", paramLabel = "N") Integer blockSize;
        @Option(names = "--max-iters", paramLabel = "N") Integer maxIters;
        @Option(names = "--eval-interval", paramLabel = "N") Integer evalInterval;
        @Option(names = "--eval-iters", paramLabel = "N") Integer evalIters;
        @Option(names = "--learning-rate", paramLabel = "LR") Double learningRate;
        @Option(names = "--n-embd", paramLabel = "N") Integer nEmbd;
        @Option(names = "--n-head", paramLabel = "N") Integer nHead;
        @Option(names = "--n-layer", paramLabel = "N") Integer nLayer;
        @Option(names = "--dropout", paramLabel = "P") Double dropout;
        @Option(names = "--residual", arity = "1", paramLabel = "BOOL", description = "The blocks' residual connections (default true)") Boolean residual;
        @Option(names = "--seed", paramLabel = "N") Long seed;
        @Option(names = "--weight-decay", paramLabel = "W") Double weightDecay;
        @Option(names = "--grad-clip", paramLabel = "NORM", description = "Clip the gradient norm (0: off)") Double gradClip;
        @Option(names = "--warmup-iters", paramLabel = "N") Integer warmupIters;
        @Option(names = "--decay-lr", arity = "1", paramLabel = "BOOL", description = "Cosine learning-rate decay") Boolean decayLr;
        @Option(names = "--min-lr", paramLabel = "LR") Double minLr;
        @Option(names = "--keep-checkpoints", paramLabel = "N", description = "Checkpoints kept in checkpoints/ (default 3)") Integer keepCheckpoints;
        @Option(names = "--shards", paramLabel = "N", description = "Split each batch into N shards computed in parallel"
                + " (default 4; part of the run's arithmetic, the same on any number of cores)") Integer shards;

        Map<String, String> asMap() {
            Map<String, String> m = new LinkedHashMap<>();
            put(m, "batch-size", batchSize);
            put(m, "block-size", blockSize);
            put(m, "max-iters", maxIters);
            put(m, "eval-interval", evalInterval);
            put(m, "eval-iters", evalIters);
            put(m, "learning-rate", learningRate);
            put(m, "n-embd", nEmbd);
            put(m, "n-head", nHead);
            put(m, "n-layer", nLayer);
            put(m, "dropout", dropout);
            put(m, "residual", residual);
            put(m, "seed", seed);
            put(m, "weight-decay", weightDecay);
            put(m, "grad-clip", gradClip);
            put(m, "warmup-iters", warmupIters);
            put(m, "decay-lr", decayLr);
            put(m, "min-lr", minLr);
            put(m, "keep-checkpoints", keepCheckpoints);
            put(m, "shards", shards);
            return m;
        }

        private static void put(Map<String, String> m, String k, Object v) {
            if (v != null) {
                m.put(k, String.valueOf(v));
            }
        }
    }

    @Override
    public Integer call() {
        if (init != null && resume) {
            throw new GptException("--init starts a new run from a checkpoint's weights; --resume continues a run");
        }
        if (init != null && out == null) {
            throw new GptException("--init needs --out, the new run's directory (the checkpoint in " + init
                    + " is not changed)");
        }
        RunConfig cfg = RunConfig.preset(preset).with(overrides.asMap());  // bad settings fail before anything is written
        Path dir = out != null ? out : Path.of("runs", cfg.preset());
        boolean hasRun = Files.exists(dir.resolve(Checkpoint.FILE_NAME)) || Files.exists(dir.resolve(Metrics.FILE_NAME));
        if (resume && !Files.exists(dir.resolve(Checkpoint.FILE_NAME))) {
            throw new GptException("nothing to resume: no checkpoint in " + dir);
        }
        if (!resume && hasRun && !force) {
            throw new GptException(dir + " already holds a run; pass --resume to continue it or --force to start over");
        }
        Checkpoint base = init != null ? Checkpoint.load(init) : null;
        if (base != null && !base.config().with(overrides.asMap()).model().equals(base.config().model())) {
            throw new GptException("--init takes the model's settings from " + init + "; only training settings may"
                    + " be given (the model's are in " + init.resolve("config.json") + ")");
        }
        String text = data.load();
        System.out.println(Common.backend());
        Checkpoint ck = resume ? Checkpoint.load(dir) : null;
        if (ck != null) {
            // The same command line with --resume added continues the run; changing a setting other than
            // --max-iters would make the result a different run, so it is refused.
            Map<String, String> same = new LinkedHashMap<>(overrides.asMap());
            same.remove("max-iters");
            if (!ck.config().with(same).equals(ck.config())) {
                throw new GptException("--resume continues a run with its own settings; only --max-iters may change"
                        + " (the run's settings are in " + dir.resolve("config.json") + ")");
            }
        }
        Checkpoint from = ck != null ? ck : base;
        Dataset ds = from != null ? Dataset.of(text, from.tokenizer()) : Dataset.of(text);
        Trainer trainer;
        if (ck != null) {
            trainer = Trainer.resume(ck, dir, ds, overrides.maxIters);
        } else if (base != null) {
            trainer = Trainer.fineTune(base, base.config().with(overrides.asMap()).train(), ds, dir);
        } else {
            trainer = Trainer.start(cfg, ds, dir);
        }
        RunConfig run = trainer.config();
        String what = ck != null ? "resuming at step " + ck.step() + ", preset"
                : base != null ? "from the weights in " + init + ", preset" : "preset";
        System.out.printf("%s %s: %s, %,d parameters%n", what, run.preset(), describe(run),
                trainer.model().parameters().count());
        System.out.println(trainer.backprop().equals("fast")
                ? String.format("gradients: the CPU fast path, batches in %d shards on %d thread(s)",
                        trainer.config().train().shards(), dev.letsbuildgpt.model.Backend.threads())
                : "gradients: SameDiff's graph");
        Metrics.Evaluation last;
        try (Progress progress = Progress.forConsole(trainer.step(), trainer.config().train().maxIters(), System.out)) {
            last = trainer.run(progress);
        }
        System.out.printf("done: step %d, train loss %.4f, val loss %.4f%n", last.step(), last.trainLoss(), last.valLoss());
        System.out.println("run directory: " + dir + " (checkpoint.zip, best.zip, metrics.jsonl, loss.png, config.json)");
        if (sampleTokens > 0) {
            Sampler sampler = new Sampler(trainer.model(), ds.tokenizer());
            System.out.println("--- sample ---");
            System.out.println(sampler.generate("", Sampler.Settings.of(sampleTokens, run.train().seed()), null));
        }
        return 0;
    }

    static String describe(RunConfig c) {
        var m = c.model();
        var t = c.train();
        return String.format("%s, n_embd %d, n_head %d, n_layer %d, block %d, batch %d, lr %g, %d iters, dropout %.2f",
                m.stage().id(), m.nEmbd(), m.nHead(), m.nLayer(), m.blockSize(), t.batchSize(), t.learningRate(),
                t.maxIters(), m.dropout());
    }
}
