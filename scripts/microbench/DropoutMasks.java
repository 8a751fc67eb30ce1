/**
 * Drawing a dropout mask (B's attention: 96 heads' [256, 256] weights at p = 0.2) as Dropout does, through
 * SplittableRandom, and through SplitMix64 written out (the same stream):  java scripts/microbench/DropoutMasks.java
 *
 * With the argument {@code causal}: a [256, 256] causal mask (row r draws r + 1 values) value by value, as Dropout
 * drew it until 2026-12-06, against runs of 256 as it draws now (the mix and the test in a loop the JIT vectorises,
 * the bytes in a second), in nanoseconds a value, and whether the masks are the same.
 */
import java.util.SplittableRandom;

public class DropoutMasks {
    static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;

    static void library(byte[] keep, long seed, int from, int n, double p) {
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = from, end = from + n; i < end; i++) {
            keep[i] = (byte) (r.nextDouble() >= p ? 1 : 0);
        }
    }

    static void writtenOut(byte[] keep, long seed, int from, int n, double p) {
        long threshold = (long) Math.ceil(p * 0x1p53);   // nextDouble() >= p  <=>  (nextLong() >>> 11) >= p * 2^53
        long s = seed;
        for (int i = 0; i < n; i++) {
            s += GOLDEN_GAMMA;
            long z = s;
            z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
            z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
            z = z ^ (z >>> 31);
            keep[from + i] = (byte) ((z >>> 11) >= threshold ? 1 : 0);
        }
    }

    static final long THRESHOLD = (long) Math.ceil(0.2 * 0x1p53);

    static void causalValueByValue(byte[] keep, long s, int t) {
        for (int row = 0; row < t; row++) {
            for (int col = 0, i = row * t, k = row * t + 1; col <= row; col++, i++, k++) {
                long z = s + k * GOLDEN_GAMMA;
                z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
                z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
                z = z ^ (z >>> 31);
                keep[i] = (byte) ((z >>> 11) >= THRESHOLD ? 1 : 0);
            }
        }
    }

    static void causalInRuns(byte[] keep, long s, int t, long[] gammas, long[] run) {
        for (int row = 0; row < t; row++) {
            long base = s + (long) (row * t + 1) * GOLDEN_GAMMA;
            int n = row + 1;   // at most 256: one run
            for (int j = 0; j < n; j++) {
                long z = base + gammas[j];
                z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
                z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
                z = z ^ (z >>> 31);
                run[j] = ((z >>> 11) - THRESHOLD) >>> 63;
            }
            for (int j = 0, i = row * t; j < n; j++, i++) {
                keep[i] = (byte) (1 - run[j]);
            }
        }
    }

    static void causal() {
        int t = 256;
        byte[] a = new byte[t * t], b = new byte[t * t];
        long[] gammas = new long[t], run = new long[t];
        for (int j = 0; j < t; j++) {
            gammas[j] = j * GOLDEN_GAMMA;
        }
        double values = 300.0 * t * (t + 1) / 2;
        for (int round = 0; round < 6; round++) {
            long t0 = System.nanoTime();
            for (int it = 0; it < 300; it++) {
                causalValueByValue(a, it * 77L, t);
            }
            long t1 = System.nanoTime();
            for (int it = 0; it < 300; it++) {
                causalInRuns(b, it * 77L, t, gammas, run);
            }
            long t2 = System.nanoTime();
            System.out.printf("causal [%d, %d]: value by value %.2f ns, in runs %.2f ns a value, same masks: %b%n",
                    t, t, (t1 - t0) / values, (t2 - t1) / values, java.util.Arrays.equals(a, b));
        }
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("causal")) {
            causal();
            return;
        }
        int heads = 96, size = 256 * 256;
        byte[] a = new byte[heads * size], b = new byte[heads * size];
        for (int rep = 0; rep < 8; rep++) {
            long t0 = System.nanoTime();
            for (int q = 0; q < heads; q++) {
                library(a, 12345 + q, q * size, size, 0.2);
            }
            long ta = System.nanoTime() - t0;
            t0 = System.nanoTime();
            for (int q = 0; q < heads; q++) {
                writtenOut(b, 12345 + q, q * size, size, 0.2);
            }
            long tb = System.nanoTime() - t0;
            System.out.printf("SplittableRandom %.1f ms, written out %.1f ms, same masks: %b%n", ta / 1e6, tb / 1e6,
                    java.util.Arrays.equals(a, b));
        }
    }
}
