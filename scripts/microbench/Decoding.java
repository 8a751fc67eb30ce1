import dev.letsbuildgpt.model.GptConfig;
import dev.letsbuildgpt.model.LanguageModel;

/**
 * What one sampled token costs, the two ways a sample decodes, for config T, A or B:
 *
 *   make build && OMP_NUM_THREADS=1 OPENBLAS_CORETYPE=Haswell \
 *     java -XX:+UseSerialGC -cp "target/gpt.jar:target/lib/*" scripts/microbench/Decoding.java window A
 *
 * - window: a token past block_size, a decoder started on a full window (Decoder.start: the whole window in one
 *   pass of the fast path, then the last block's rest for the last position); milliseconds per start.
 * - cached: a token up to block_size, where the key/value cache holds (a start on the first token, then an append
 *   of each of the others); milliseconds per token.
 *
 * - long: 500-token samples from one token, as the benchmark's long sample (the cache up to block_size, then a start
 *   on the cropped window per token); milliseconds per token of each sample in turn, from the first: what the JIT's
 *   warm-up costs, and when the speed settles.
 *
 * Eight rounds; the best and the median of the last six, and a checksum of the logits (the same on two builds means
 * the same numbers). To compare two builds, run them alternately, several times each: these machines move by
 * 10-35 % between runs (docs/BENCHMARKS.md).
 */
public class Decoding {
    public static void main(String[] args) {
        String mode = args.length > 0 ? args[0] : "";
        boolean window = switch (mode) {
            case "window", "long" -> true;
            case "cached" -> false;
            default -> throw new IllegalArgumentException("usage: Decoding.java window|cached|long T|A|B");
        };
        String config = args.length > 1 ? args[1] : "B";
        GptConfig c = switch (config) {
            case "T" -> GptConfig.gpt(65, 32, 64, 4, 4, 0.0);
            case "A" -> GptConfig.gpt(65, 64, 128, 4, 4, 0.0);
            case "B" -> GptConfig.gpt(65, 256, 384, 6, 6, 0.0);
            default -> throw new IllegalArgumentException("config T, A or B, got " + config);
        };
        LanguageModel.Decoder d = LanguageModel.create(c, 1).decoder();
        int n = c.blockSize();
        int[] tokens = new int[n];
        java.util.Random r = new java.util.Random(3);
        for (int i = 0; i < n; i++) {
            tokens[i] = r.nextInt(65);
        }
        if (mode.equals("long")) {
            longSamples(d, n, config);
        }
        boolean big = config.equals("B");
        int reps = window ? (big ? 10 : 500) : (big ? 2 : 50);
        double[] ms = new double[8];
        double checksum = 0;
        for (int round = 0; round < ms.length; round++) {
            long t0 = System.nanoTime();
            for (int k = 0; k < reps; k++) {
                d.reset();
                if (window) {
                    checksum += d.start(tokens, 0, n)[0];
                } else {
                    d.start(tokens, 0, 1);
                    for (int i = 1; i < n; i++) {
                        checksum += d.append(tokens[i])[0];
                    }
                }
            }
            ms[round] = (System.nanoTime() - t0) / 1e6 / reps / (window ? 1 : n);
        }
        double[] last = java.util.Arrays.copyOfRange(ms, 2, ms.length);
        java.util.Arrays.sort(last);
        System.out.printf("%s: %s: best %.3f ms, median %.3f ms (checksum %s)%n", config,
                window ? "start of a " + n + "-token window" : "a cached token up to block_size " + n, last[0],
                (last[2] + last[3]) / 2, checksum);
        System.exit(0);
    }

    /** Eight 500-token samples, each token the most likely after the last block_size (the lecture's cropping). */
    private static void longSamples(LanguageModel.Decoder d, int n, String config) {
        int length = 500;
        for (int round = 0; round < 8; round++) {
            int[] tokens = new int[length];
            long t0 = System.nanoTime();
            d.reset();
            float[] logits = d.append(0);
            for (int i = 1; i < length; i++) {
                tokens[i] = argmax(logits);
                if (i < n) {
                    logits = d.append(tokens[i]);
                } else {
                    d.reset();
                    logits = d.start(tokens, i + 1 - n, n);
                }
            }
            System.out.printf("%s: 500-token sample %d: %.3f ms per token%n", config, round + 1,
                    (System.nanoTime() - t0) / 1e6 / length);
        }
        System.exit(0);
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
