package dev.letsbuildgpt.cli;

import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.data.Batches;
import dev.letsbuildgpt.data.Dataset;
import dev.letsbuildgpt.model.LanguageModel;
import dev.letsbuildgpt.train.Checkpoint;
import dev.letsbuildgpt.train.PyTorchWeights;
import dev.letsbuildgpt.train.RunConfig;
import dev.letsbuildgpt.train.RunLock;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "import", mixinStandardHelpOptions = true,
        description = {"Make a checkpoint from weights trained elsewhere (PyTorch): a NumPy .npz of the lecture's"
                + " state_dict keys, for a model of the given preset and overrides; sample and eval then take it.",
                "In Python: numpy.savez(FILE, **{k: v.numpy() for k, v in model.state_dict().items()})"})
final class ImportCommand implements Callable<Integer> {
    @Option(names = "--from", required = true, paramLabel = "FILE.npz", description = "The weights")
    Path from;

    @Option(names = "--preset", defaultValue = "cpu", paramLabel = "NAME", description = "The model's preset (default: ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Run directory for the checkpoint")
    Path out;

    @Option(names = "--force", description = "Replace a checkpoint already in --out")
    boolean force;

    @Mixin
    Common.DataOption data = new Common.DataOption();

    @ArgGroup(exclusive = false, heading = "%nOverrides (the lecture's names, in kebab case):%n")
    TrainCommand.Overrides overrides = new TrainCommand.Overrides();

    @Override
    public Integer call() {
        RunConfig cfg = RunConfig.preset(preset).with(overrides.asMap());
        if (Files.exists(out.resolve(Checkpoint.FILE_NAME)) && !force) {
            throw new GptException(out + " already holds a checkpoint; pass --force to replace it");
        }
        Dataset ds = Dataset.of(data.load());
        RunConfig run = cfg.withVocabSize(ds.tokenizer().vocabSize());
        LanguageModel model = LanguageModel.create(run.model(), run.train().seed());
        PyTorchWeights.read(from, model.parameters());
        try (RunLock lock = RunLock.acquire(out)) {
            Batches batches = new Batches(ds, run.train().batchSize(), run.model().blockSize(), run.train().seed() + 1);
            new Checkpoint(run, ds.tokenizer().vocabulary(), 0, batches.state(), null, "pytorch",
                    model.parameters().snapshot(), Map.of()).save(out, model.parameters());
        }
        System.out.printf("wrote %s: %s, %,d parameters from %s%n", out.resolve(Checkpoint.FILE_NAME), run.preset(),
                model.parameters().count(), from);
        return 0;
    }
}
