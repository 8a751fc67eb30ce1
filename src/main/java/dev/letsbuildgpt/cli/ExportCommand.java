package dev.letsbuildgpt.cli;

import dev.letsbuildgpt.train.Checkpoint;
import dev.letsbuildgpt.train.PyTorchWeights;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Write a checkpoint's weights as PyTorch holds them: a NumPy .npz of the lecture's state_dict"
                + " keys, linear weights [out, in].",
                "In Python: model.load_state_dict({k: torch.from_numpy(v) for k, v in numpy.load(FILE).items()},"
                        + " strict=False)"})
final class ExportCommand implements Callable<Integer> {
    @Option(names = "--ckpt", required = true, paramLabel = "DIR", description = "Run directory or checkpoint file")
    Path ckpt;

    @Option(names = "--to", required = true, paramLabel = "FILE.npz", description = "Where the weights go")
    Path to;

    @Override
    public Integer call() {
        Checkpoint ck = Checkpoint.load(ckpt);
        PyTorchWeights.write(ck.model().parameters(), to);
        System.out.printf("wrote %s: %d arrays of %s (%s, step %d)%n", to, ck.params().size(),
                Checkpoint.fileOf(ckpt), ck.config().preset(), ck.step());
        return 0;
    }
}
