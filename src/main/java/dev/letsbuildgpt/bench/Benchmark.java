package dev.letsbuildgpt.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.letsbuildgpt.data.Dataset;
import dev.letsbuildgpt.model.Backend;
import dev.letsbuildgpt.sample.Sampler;
import dev.letsbuildgpt.train.Json;
import dev.letsbuildgpt.train.RunConfig;
import dev.letsbuildgpt.train.Trainer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * The Java side of one benchmark configuration, measured the way {@code torch_gpt_bench.py} measures PyTorch:
 * warm-up steps, then timed optimizer steps on random batches; then sampling one sequence (batch 1) from a single
 * token up to a full context; then the process's peak resident memory. Run it in a fresh JVM per configuration,
 * so that the peak belongs to that configuration alone.
 */
public final class Benchmark {
    /** A long sample, as `make train` and `sample` print: past block_size the window is cropped and recomputed. */
    public static final int LONG_SAMPLE_TOKENS = 500;

    private Benchmark() {
    }

    /** Measures {@code c} on {@code text}; progress lines go to {@code log}. Returns the result as JSON fields. */
    public static ObjectNode run(BenchConfig c, String text, int warmup, int steps, Integer shards,
                                 Consumer<String> log) {
        Backend.configure();
        Dataset data = Dataset.of(text);
        RunConfig cfg = c.run().with("max-iters", String.valueOf(warmup + steps));
        if (shards != null) {
            cfg = cfg.with("shards", String.valueOf(shards));
        }
        Path dir = tempDir();
        try {
            Trainer trainer = Trainer.start(cfg, data, dir);
            log.accept(c + ": " + warmup + " warm-up steps");
            trainer.train(warmup);
            log.accept(c + ": " + steps + " timed steps");
            long t0 = System.nanoTime();
            trainer.train(steps);
            double trainSeconds = (System.nanoTime() - t0) / 1e9;

            log.accept(c + ": sampling");
            int tokens = c.sampleTokens();
            Sampler cached = new Sampler(trainer.model(), data.tokenizer(), true);
            Sampler full = new Sampler(trainer.model(), data.tokenizer(), false);
            // Warm-up, as for training: the JIT compiles the cached decoder's loops, SameDiff builds its graph.
            int[] withCache = cached.generate(new int[]{0}, Sampler.Settings.of(tokens, 1337), null);
            int[] withoutCache = full.generate(new int[]{0}, Sampler.Settings.of(tokens, 1337), null);
            // A generation of a small model's context takes milliseconds, where one collection or one late
            // compilation would count as much: warm up, then take the mean of as many generations as the time holds.
            // With the cache, 3 s of warm-up and 1 s measured: B's decoding steps run 2.3-2.5 ms a token in the first
            // generation of a process, 1.6-1.7 in the second and 1.2-1.4 from the fifth on (generations of 255 tokens
            // one after another after a training step, two runs), and half a second held two generations.
            Runnable withTheCache = () -> cached.generate(new int[]{0}, Sampler.Settings.of(tokens, 1337), null);
            Runnable withoutTheCache = () -> full.generate(new int[]{0}, Sampler.Settings.of(tokens, 1337), null);
            secondsPer(withTheCache, 3.0);
            double cachedSeconds = secondsPer(withTheCache, 1.0);
            secondsPer(withoutTheCache, 0.5);
            double fullSeconds = secondsPer(withoutTheCache, 0.5);
            log.accept(c + ": a " + LONG_SAMPLE_TOKENS + "-token sample");
            // Its warm-up is longer: the window's split pass, which nothing before runs, is a few dozen short calls a
            // window on two threads, which the JIT compiles fully only after thousands of calls, seconds into a
            // process (scripts/microbench/Decoding.java long A: the first 500-token samples 2.9-4.0 ms a token, then
            // 1.9-2.3 for a few seconds, 1.3-1.4 once compiled; docs/BENCHMARKS.md).
            Runnable longSample = () -> cached.generate(new int[]{0}, Sampler.Settings.of(LONG_SAMPLE_TOKENS, 1337), null);
            secondsPer(longSample, 5.0);
            double longSeconds = secondsPer(longSample, 0.5);

            long params = trainer.model().parameters().count();
            double tokS = (double) steps * c.batchSize * c.blockSize / trainSeconds;
            ObjectNode r = Json.SNAKE.createObjectNode();
            r.put("impl", "java");
            r.put("version", "ND4J/SameDiff 1.0.0-M2.1, Java " + System.getProperty("java.version"));
            r.put("config", c.name());
            r.put("params", params);
            r.put("threads", Backend.threads());   // the fast path's
            r.put("shards", cfg.train().shards());
            r.put("backprop", trainer.backprop());
            r.put("steps", steps);
            r.put("openblas_coretype", String.valueOf(System.getenv().getOrDefault("OPENBLAS_CORETYPE", "unset")));
            r.put("step_ms", round(1000 * trainSeconds / steps, 2));
            r.put("train_tok_s", round(tokS, 1));
            r.put("sample_tokens", tokens);
            r.put("sample_ms_per_token", round(1000 * cachedSeconds / tokens, 3));
            r.put("sample_ms_per_token_no_cache", round(1000 * fullSeconds / tokens, 3));
            r.put("sample_same_tokens", Arrays.equals(withoutCache, withCache));
            r.put("long_sample_tokens", LONG_SAMPLE_TOKENS);
            r.put("long_sample_ms_per_token", round(1000 * longSeconds / LONG_SAMPLE_TOKENS, 3));
            r.put("flops_per_token", c.flopsPerToken(params));
            r.put("peak_rss_mb", round(peakRssMb(), 1));
            return r;
        } finally {
            deleteTree(dir);
        }
    }

    /** The mean time of {@code work} over as many runs as {@code seconds} holds (at least one). */
    static double secondsPer(Runnable work, double seconds) {
        int runs = 0;
        long t0 = System.nanoTime();
        long end = t0 + (long) (seconds * 1e9);
        do {
            work.run();
            runs++;
        } while (System.nanoTime() < end);
        return (System.nanoTime() - t0) / 1e9 / runs;
    }

    /** The process's peak resident set (VmHWM), in MB; NaN where /proc is not there. */
    public static double peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return Double.NaN;
    }

    public static double round(double x, int places) {
        double f = Math.pow(10, places);
        return Math.round(x * f) / f;
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("gpt-bench");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind is not worth failing the benchmark for
        }
    }
}
