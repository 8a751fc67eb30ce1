/**
 * Drawing a dropout mask (B's attention: 96 heads' [256, 256] weights at p = 0.2) as Dropout does, through
 * SplittableRandom, and through SplitMix64 written out (the same stream):  java scripts/microbench/DropoutMasks.java
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

    public static void main(String[] args) {
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
