package dev.letsbuildgpt.cli;

import dev.letsbuildgpt.model.LanguageModel;
import dev.letsbuildgpt.sample.Sampler;
import dev.letsbuildgpt.train.Checkpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "sample", mixinStandardHelpOptions = true,
        description = "Generate text from a trained model; the output starts with the prompt.")
final class SampleCommand implements Callable<Integer> {
    @Option(names = "--ckpt", required = true, paramLabel = "DIR", description = "Run directory or checkpoint file")
    Path ckpt;

    @Option(names = "--prompt", defaultValue = "", paramLabel = "TEXT", description = "Text to continue (default: none)")
    String prompt;

    @Option(names = "--tokens", defaultValue = "500", paramLabel = "N", description = "Characters to generate (default: ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--temperature", defaultValue = "1.0", paramLabel = "T", description = "Below 1: safer; above 1: wilder (default: ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--top-k", paramLabel = "K", description = "Sample only among the K likeliest characters")
    Integer topK;

    @Option(names = "--seed", defaultValue = "1337", paramLabel = "N", description = "Random seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--no-kv-cache", description = "Run the whole context through the model for every token, as the"
            + " lecture does (slower; the same text)")
    boolean noKvCache;

    @Override
    public Integer call() {
        Sampler.Settings settings = new Sampler.Settings(tokens, temperature, topK, seed);
        Checkpoint ck = Checkpoint.load(ckpt);
        var tok = ck.tokenizer();
        tok.encode(prompt);  // a character outside the vocabulary fails here, before any work
        LanguageModel model = ck.model();
        Sampler sampler = new Sampler(model, tok, !noKvCache);
        System.out.print(prompt);
        sampler.generate(prompt, settings, piece -> {
            System.out.print(piece);
            System.out.flush();
        });
        System.out.println();
        return 0;
    }
}
