package dev.letsbuildgpt.cli;

import dev.letsbuildgpt.data.Batches;
import dev.letsbuildgpt.data.Dataset;
import dev.letsbuildgpt.model.LanguageModel;
import dev.letsbuildgpt.train.Checkpoint;
import dev.letsbuildgpt.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Estimate a checkpoint's loss on the training and validation splits, as estimate_loss does.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--ckpt", required = true, paramLabel = "DIR", description = "Run directory or checkpoint file")
    Path ckpt;

    @Option(names = "--eval-iters", paramLabel = "N", description = "Batches per split (default: the run's eval_iters)")
    Integer evalIters;

    @Option(names = "--seed", defaultValue = "1337", paramLabel = "N", description = "Seed of the batch sampler (default: ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    Common.DataOption data = new Common.DataOption();

    @Override
    public Integer call() {
        Checkpoint ck = Checkpoint.load(ckpt);
        int iters = evalIters != null ? evalIters : ck.config().train().evalIters();
        if (iters <= 0) {
            throw new dev.letsbuildgpt.GptException("--eval-iters must be positive, got " + iters);
        }
        Dataset ds = Dataset.of(data.load(), ck.tokenizer());
        LanguageModel model = ck.model();
        int batch = ck.config().train().batchSize();
        int block = ck.config().model().blockSize();
        Batches batches = new Batches(ds, batch, block, seed);
        for (Dataset.Split split : Dataset.Split.values()) {
            System.out.printf("%s loss %.4f%n", split == Dataset.Split.TRAIN ? "train" : "val",
                    Trainer.estimateLoss(model, batches, split, iters));
        }
        System.out.printf("(step %d, %d batches of %d x %d per split)%n", ck.step(), iters, batch, block);
        return 0;
    }
}
