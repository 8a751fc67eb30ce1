package dev.letsbuildgpt.cli;

import dev.letsbuildgpt.data.TinyShakespeare;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "data", mixinStandardHelpOptions = true,
        description = "Download Tiny Shakespeare (or copy it from --data) into a folder, checking its SHA-256;"
                + " nothing is done when a good copy is there.")
final class DataCommand implements Callable<Integer> {
    @Option(names = "--data", paramLabel = "PATH_OR_URL",
            description = "Where it comes from (default: $GPT_DATA_URL, else Karpathy's char-rnn URL)")
    String data;

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "data", description = "Where it goes (default: data)")
    Path dir;

    @Override
    public Integer call() throws Exception {
        Path file = TinyShakespeare.fetch(data, dir);
        System.out.printf("data: %s (%,d bytes, SHA-256 %s)%n", file, Files.size(file), TinyShakespeare.SHA256);
        return 0;
    }
}
