package dev.letsbuildgpt.cli;

import dev.letsbuildgpt.model.LanguageModel;
import dev.letsbuildgpt.train.Checkpoint;
import dev.letsbuildgpt.train.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "info", mixinStandardHelpOptions = true, description = "Show a checkpoint's configuration and size.")
final class InfoCommand implements Callable<Integer> {
    @Option(names = "--ckpt", required = true, paramLabel = "DIR", description = "Run directory or checkpoint file")
    Path ckpt;

    @Override
    public Integer call() {
        Checkpoint ck = Checkpoint.load(ckpt);
        LanguageModel model = ck.model();
        System.out.println("checkpoint: " + Checkpoint.fileOf(ckpt));
        System.out.printf("step: %d of %d%n", ck.step(), ck.config().train().maxIters());
        System.out.printf("parameters: %,d%n", model.parameters().count());
        if (ck.bestValLoss() != null) {
            System.out.printf("best val loss: %.4f%n", ck.bestValLoss());
        }
        System.out.println("vocabulary: " + ck.tokenizer().vocabSize() + " characters");
        System.out.println("trained by: " + ck.trainedBy());
        System.out.println("configuration:");
        System.out.println(Json.write(ck.config()));
        return 0;
    }
}
