import dev.letsbuildgpt.model.GptConfig;
import dev.letsbuildgpt.model.LanguageModel;

/**
 * What one token of a cached sample costs (up to block_size, where the key/value cache holds): a decoder appending
 * block_size - 1 tokens after the first, for config T, A or B:
 *
 *   make build && OMP_NUM_THREADS=1 OPENBLAS_CORETYPE=Haswell \
 *     java -XX:+UseSerialGC -cp "target/gpt.jar:target/lib/*" scripts/microbench/CachedStep.java B
 *
 * Eight rounds; the best and the median of the last six, in milliseconds per token, and a checksum of the logits
 * (the same on two builds means the same numbers). Compare builds alternately, several runs each
 * (docs/BENCHMARKS.md: these machines move by 10-35 % between runs).
 */
public class CachedStep {
    public static void main(String[] args) {
        String config = args.length > 0 ? args[0] : "B";
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
        int reps = config.equals("B") ? 2 : 50;
        double[] ms = new double[8];
        double checksum = 0;
        for (int round = 0; round < ms.length; round++) {
            long t0 = System.nanoTime();
            for (int k = 0; k < reps; k++) {
                d.reset();
                d.start(tokens, 0, 1);
                for (int i = 1; i < n; i++) {
                    checksum += d.append(tokens[i])[0];
                }
            }
            ms[round] = (System.nanoTime() - t0) / 1e6 / reps / n;
        }
        double[] last = java.util.Arrays.copyOfRange(ms, 2, ms.length);
        java.util.Arrays.sort(last);
        System.out.printf("%s: a cached token up to block_size %d: best %.3f ms, median %.3f ms (checksum %s)%n",
                config, n, last[0], (last[2] + last[3]) / 2, checksum);
        System.exit(0);
    }
}
