import dev.letsbuildgpt.bench.BenchConfig;
import dev.letsbuildgpt.data.Dataset;
import dev.letsbuildgpt.data.TinyShakespeare;
import dev.letsbuildgpt.model.Backend;
import dev.letsbuildgpt.train.Trainer;
import one.profiler.AsyncProfiler;

import java.nio.file.Files;

/**
 * A profile of a benchmark configuration's training steps after its warm-up (async-profiler, CPU time by interval
 * timer, stacks collapsed into one line each), so that start-up and the JIT's first minutes stay out of it:
 *
 *   mvn -q dependency:get -Dartifact=tools.profiler:async-profiler:3.0
 *   mkdir -p /tmp/ap && cd /tmp/ap && \
 *     unzip -q -o ~/.m2/repository/tools/profiler/async-profiler/3.0/async-profiler-3.0.jar && cd -
 *   make build && GPT_DATA_URL=file://$PWD/../shared/data/tinyshakespeare.txt OMP_NUM_THREADS=1 \
 *     OPENBLAS_CORETYPE=SkylakeX java -XX:+UseSerialGC -cp "target/gpt.jar:target/lib/*:/tmp/ap" \
 *     scripts/microbench/ProfileSteps.java B 6 2 /tmp/profile-B.txt
 *
 * arguments: the configuration, profiled steps, warm-up steps, the output file (one stack and its sample count a
 * line: group the counts by their last frame, or by the deepest dev.letsbuildgpt frame, for docs/BENCHMARKS.md's
 * shares). The library comes from /tmp/ap/linux-x64 (-Dprofiler=PATH for another). JVM properties for other
 * profiles: -Devent=alloc (allocations instead of CPU time; -Dinterval=1 samples every one), -Dinterval=N (the
 * profiler's own units: 10ms by default), -Dextra=,OPTION... and -Dstopextra=,OPTION... added to its start and stop
 * commands (-Dstopextra=,total: bytes instead of samples in an allocation profile).
 */
public class ProfileSteps {
    public static void main(String[] args) throws Exception {
        BenchConfig c = BenchConfig.valueOf(args[0]);
        int steps = Integer.parseInt(args[1]);
        int warmup = Integer.parseInt(args[2]);
        Backend.configure();
        Dataset data = Dataset.of(TinyShakespeare.load());
        var cfg = c.run().with("shards", System.getProperty("shards", "4"))
                .with("max-iters", String.valueOf(steps + warmup + 10));
        Trainer t = Trainer.start(cfg, data, Files.createTempDirectory("profile-steps"));
        t.train(warmup);
        AsyncProfiler profiler = AsyncProfiler.getInstance(
                System.getProperty("profiler", "/tmp/ap/linux-x64/libasyncProfiler.so"));
        profiler.execute("start,event=" + System.getProperty("event", "itimer") + ",interval="
                + System.getProperty("interval", "10ms") + System.getProperty("extra", ""));
        long t0 = System.nanoTime();
        t.train(steps);
        long t1 = System.nanoTime();
        profiler.execute("stop,collapsed" + System.getProperty("stopextra", "") + ",file=" + args[3]);
        System.out.printf("%s: %.2f ms/step while profiled; stacks in %s%n", args[0], (t1 - t0) / 1e6 / steps, args[3]);
    }
}
