import dev.letsbuildgpt.bench.BenchConfig;
import dev.letsbuildgpt.data.Dataset;
import dev.letsbuildgpt.data.TinyShakespeare;
import dev.letsbuildgpt.model.Backend;
import dev.letsbuildgpt.train.Trainer;

import java.nio.file.Files;

/**
 * Milliseconds per training step of a benchmark configuration (T, A or B), in rounds after a warm-up round:
 *
 *   make build && GPT_DATA_URL=file://$PWD/../shared/data/tinyshakespeare.txt OMP_NUM_THREADS=1 \
 *     OPENBLAS_CORETYPE=SkylakeX java -XX:+UseSerialGC -cp "target/gpt.jar:target/lib/*" \
 *     scripts/microbench/TrainingSteps.java A 40 3
 *
 * arguments: the configuration, steps a round, rounds (the JVM property -Dshards=N overrides the shard count). To
 * compare two builds, run their jars in turn, several times each (docs/BENCHMARKS.md: these machines move by 5-15 %).
 */
public class TrainingSteps {
    public static void main(String[] args) throws Exception {
        BenchConfig c = BenchConfig.valueOf(args[0]);
        int steps = Integer.parseInt(args[1]);
        int rounds = Integer.parseInt(args[2]);
        Backend.configure();
        Dataset data = Dataset.of(TinyShakespeare.load());
        var cfg = c.run().with("shards", System.getProperty("shards", "4"))
                .with("max-iters", String.valueOf(steps * (rounds + 1) + 10));
        Trainer t = Trainer.start(cfg, data, Files.createTempDirectory("training-steps"));
        t.train(steps);   // warm-up
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            t.train(steps);
            System.out.printf("%s: %.2f ms/step%n", args[0], (System.nanoTime() - t0) / 1e6 / steps);
        }
    }
}
