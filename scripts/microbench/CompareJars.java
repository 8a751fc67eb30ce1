import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Two or more builds' decoding side by side in one process, rounds alternating between them, for config T, A or B:
 *
 *   git stash && make build && cp target/gpt.jar /tmp/before.jar && git stash pop && make build
 *   OMP_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX java -XX:+UseSerialGC scripts/microbench/CompareJars.java \
 *     cached B 20 /tmp/before.jar target/gpt.jar
 *
 * arguments: the mode, the configuration, the rounds, then the jars (each in a class loader of its own over the
 * libraries in target/lib, which they share: ND4J loads its native code once a process).
 * - cached: a start on one token, then appends up to block_size; milliseconds per token.
 * - window: a start on a full window of block_size tokens; milliseconds per start.
 * - long: a 500-token sample from one token, each token the most likely (the cache up to block_size, then a start on
 *   the cropped window per token); milliseconds per token.
 * - train: training steps of the benchmark configuration (`make bench`'s settings, 4 shards; the data from
 *   GPT_DATA_URL, as the trainer reads it); milliseconds per step. The checksum is the last step's loss: equal builds
 *   give equal losses.
 *
 * The machines here drift by 10-50 % over minutes (docs/BENCHMARKS.md), which runs of one build after another in
 * separate processes mix into the difference; here each round times every jar once, in turns, so that both see the
 * same drift. Prints each jar's best and median, and in how many rounds the last jar was faster than the first. The
 * models are the same (seed 1), so equal builds give equal checksums.
 */
public class CompareJars {
    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            throw new IllegalArgumentException("usage: CompareJars.java cached|window|long T|A|B ROUNDS JAR JAR...");
        }
        String mode = args[0];
        String config = args[1];
        int rounds = Integer.parseInt(args[2]);
        List<URL> libs = new ArrayList<>();
        try (var files = Files.list(Path.of("target/lib"))) {
            for (Path p : (Iterable<Path>) files::iterator) {
                libs.add(p.toUri().toURL());
            }
        }
        ClassLoader shared = new URLClassLoader(libs.toArray(new URL[0]), ClassLoader.getPlatformClassLoader());
        Thread.currentThread().setContextClassLoader(shared);   // where ND4J looks for its backend
        int jars = args.length - 3;
        Build[] builds = new Build[jars];
        for (int k = 0; k < jars; k++) {
            builds[k] = new Build(args[3 + k], shared, config, mode.equals("train"));
        }
        int n = builds[0].blockSize;
        int[] tokens = new int[n];
        Random r = new Random(3);
        for (int i = 0; i < n; i++) {
            tokens[i] = r.nextInt(65);
        }
        boolean big = config.equals("B");
        int reps = switch (mode) {
            case "cached" -> big ? 2 : 40;
            case "window" -> big ? 10 : 300;
            case "long" -> 1;
            case "train" -> big ? 2 : config.equals("A") ? 40 : 100;
            default -> throw new IllegalArgumentException("mode cached, window, long or train, got " + mode);
        };
        int per = switch (mode) {
            case "cached" -> n;
            case "long" -> 500;
            default -> 1;
        };
        double[][] ms = new double[jars][rounds];
        double[] checksum = new double[jars];
        for (int round = -3; round < rounds; round++) {      // three rounds of warm-up
            for (int i = 0; i < jars; i++) {
                int k = (round & 1) == 0 ? i : jars - 1 - i;   // the order turns each round
                long t0 = System.nanoTime();
                for (int rep = 0; rep < reps; rep++) {
                    checksum[k] += builds[k].run(mode, tokens);
                }
                if (round >= 0) {
                    ms[k][round] = (System.nanoTime() - t0) / 1e6 / reps / per;
                }
            }
        }
        for (int k = 0; k < jars; k++) {
            double[] sorted = ms[k].clone();
            Arrays.sort(sorted);
            System.out.printf("%s %s %s: best %.3f ms, median %.3f ms (checksum %s)%n", config, mode, args[3 + k],
                    sorted[0], sorted[rounds / 2], checksum[k]);
        }
        int faster = 0;
        for (int i = 0; i < rounds; i++) {
            faster += ms[jars - 1][i] < ms[0][i] ? 1 : 0;
        }
        System.out.printf("rounds in which the last jar was faster than the first: %d of %d%n", faster, rounds);
        System.exit(0);
    }

    /** One jar's decoder, called by reflection (its classes are its own). */
    static final class Build {
        final Object decoder;      // the decoding modes'
        final Method start;
        final Method append;
        final Method reset;
        final int blockSize;
        Object trainer;            // the train mode's
        Method train;
        Method losses;

        Build(String jar, ClassLoader shared, String config, boolean training) throws Exception {
            ClassLoader cl = new URLClassLoader(new URL[]{Path.of(jar).toUri().toURL()}, shared);
            if (training) {
                cl.loadClass("dev.letsbuildgpt.model.Backend").getMethod("configure").invoke(null);
                Class<?> ds = cl.loadClass("dev.letsbuildgpt.data.Dataset");
                Object data = ds.getMethod("of", String.class).invoke(null,
                        cl.loadClass("dev.letsbuildgpt.data.TinyShakespeare").getMethod("load").invoke(null));
                Class<?> bc = cl.loadClass("dev.letsbuildgpt.bench.BenchConfig");
                Object run = bc.getMethod("run").invoke(bc.getMethod("valueOf", String.class).invoke(null, config));
                Method with = run.getClass().getMethod("with", String.class, String.class);
                run = with.invoke(with.invoke(run, "shards", "4"), "max-iters", "1000000");
                Class<?> tr = cl.loadClass("dev.letsbuildgpt.train.Trainer");
                trainer = Arrays.stream(tr.getMethods()).filter(m -> m.getName().equals("start")
                        && m.getParameterCount() == 3).findFirst().orElseThrow()
                        .invoke(null, run, data, Files.createTempDirectory("compare-jars"));
                train = tr.getMethod("train", int.class);
                losses = tr.getMethod("stepLosses");
                decoder = start = append = reset = null;
                blockSize = 1;
                return;
            }
            Class<?> cfg = cl.loadClass("dev.letsbuildgpt.model.GptConfig");
            Method gpt = cfg.getMethod("gpt", int.class, int.class, int.class, int.class, int.class, double.class);
            Object c = switch (config) {
                case "T" -> gpt.invoke(null, 65, 32, 64, 4, 4, 0.0);
                case "A" -> gpt.invoke(null, 65, 64, 128, 4, 4, 0.0);
                case "B" -> gpt.invoke(null, 65, 256, 384, 6, 6, 0.0);
                default -> throw new IllegalArgumentException("config T, A or B, got " + config);
            };
            blockSize = (int) cfg.getMethod("blockSize").invoke(c);
            Class<?> lm = cl.loadClass("dev.letsbuildgpt.model.LanguageModel");
            decoder = lm.getMethod("decoder").invoke(lm.getMethod("create", cfg, long.class).invoke(null, c, 1L));
            Class<?> d = cl.loadClass("dev.letsbuildgpt.model.LanguageModel$Decoder");
            start = d.getMethod("start", int[].class, int.class, int.class);
            append = d.getMethod("append", int.class);
            reset = d.getMethod("reset");
        }

        /** One run of the mode; the first logit of the last token (train: the step's loss), for a checksum. */
        double run(String mode, int[] tokens) throws Exception {
            if (mode.equals("train")) {
                train.invoke(trainer, 1);
                List<?> l = (List<?>) losses.invoke(trainer);
                return ((Number) l.get(l.size() - 1).getClass().getMethod("loss").invoke(l.get(l.size() - 1)))
                        .doubleValue();
            }
            int n = blockSize;
            reset.invoke(decoder);
            if (mode.equals("window")) {
                return ((float[]) start.invoke(decoder, tokens, 0, n))[0];
            }
            if (mode.equals("cached")) {
                float[] logits = (float[]) start.invoke(decoder, tokens, 0, 1);
                for (int i = 1; i < n; i++) {
                    logits = (float[]) append.invoke(decoder, tokens[i]);
                }
                return logits[0];
            }
            int[] sample = new int[500];
            float[] logits = (float[]) append.invoke(decoder, 0);
            for (int i = 1; i < sample.length; i++) {
                sample[i] = argmax(logits);
                if (i < n) {
                    logits = (float[]) append.invoke(decoder, sample[i]);
                } else {
                    reset.invoke(decoder);
                    logits = (float[]) start.invoke(decoder, sample, i + 1 - n, n);
                }
            }
            return logits[0];
        }

        private static int argmax(float[] x) {
            int best = 0;
            for (int i = 1; i < x.length; i++) {
                if (x[i] > x[best]) {
                    best = i;
                }
            }
            return best;
        }
    }
}
