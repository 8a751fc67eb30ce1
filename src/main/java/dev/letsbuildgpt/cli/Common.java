package dev.letsbuildgpt.cli;

import dev.letsbuildgpt.data.TinyShakespeare;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Properties;

/** Pieces the commands share. */
final class Common {
    private Common() {
    }

    /** {@code --data}: where the text comes from. */
    static final class DataOption {
        @Option(names = "--data", paramLabel = "PATH_OR_URL",
                description = "Text to train on: a path or a URL (default: $GPT_DATA_URL, else Tiny Shakespeare,"
                        + " downloaded once into data/)")
        String data;

        String load() {
            return TinyShakespeare.load(data, Path.of("data"));
        }
    }

    /** One line naming the ND4J backend and device, printed before long work. */
    static String backend() {
        dev.letsbuildgpt.model.Backend.configure();   // a GPU its kernels cannot run on is refused here, in one line
        Properties env = Nd4j.getExecutioner().getEnvironmentInformation();
        String backend = String.valueOf(env.getOrDefault("backend", Nd4j.getBackend().getClass().getSimpleName()));
        Object devices = env.get("cuda.devicesInformation");
        String device = devices instanceof java.util.List<?> l && !l.isEmpty() && l.get(0) instanceof java.util.Map<?, ?> m
                ? String.valueOf(m.get("cuda.deviceName"))
                : Runtime.getRuntime().availableProcessors() + " CPU cores, BLAS " + env.getOrDefault("blas.vendor", "?")
                        + ", OPENBLAS_CORETYPE " + System.getenv().getOrDefault("OPENBLAS_CORETYPE", "unset");
        return "backend: " + backend + " (" + device + ")";
    }
}
