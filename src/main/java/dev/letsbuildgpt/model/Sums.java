package dev.letsbuildgpt.model;

/**
 * Sums over a row of floats, as the fast path's loops need them (LayerNorm's mean and variance, softmax's backward
 * dot product): in eight running sums, added pairwise at the end. The JIT neither vectorises a float sum nor
 * reorders it (that would change its rounding), so a single running sum waits on each addition before the next;
 * eight independent ones keep the core's adders busy: LayerNorm's forward pass 2.7 -> 1.1 ns a value with its loops
 * on row-local arrays (below), [192, 128] and [4096, 384] rows (a throwaway harness, three rounds each).
 *
 * <p>Why row-local arrays: the JIT (JDK 17) vectorises a loop that stores into one float array and reads another only
 * when both are indexed alike; it cannot rule out that they are the same array, and {@code out[o + j]} beside
 * {@code w[j]} might then overlap. So a module copies a row out of its [N, C] matrix into an array of its own, works
 * on it with every array indexed by {@code j}, and copies it back: two copies at memory speed instead of a loop
 * that runs value by value.
 */
final class Sums {
    private Sums() {
    }

    /** a[0] + ... + a[n - 1]. */
    static float sum(float[] a, int n) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        int j = 0;
        for (; j + 7 < n; j += 8) {
            s0 += a[j];
            s1 += a[j + 1];
            s2 += a[j + 2];
            s3 += a[j + 3];
            s4 += a[j + 4];
            s5 += a[j + 5];
            s6 += a[j + 6];
            s7 += a[j + 7];
        }
        for (; j < n; j++) {
            s0 += a[j];
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    /** a[0] b[0] + ... + a[n - 1] b[n - 1]. */
    static float dot(float[] a, float[] b, int n) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        int j = 0;
        for (; j + 7 < n; j += 8) {
            s0 += a[j] * b[j];
            s1 += a[j + 1] * b[j + 1];
            s2 += a[j + 2] * b[j + 2];
            s3 += a[j + 3] * b[j + 3];
            s4 += a[j + 4] * b[j + 4];
            s5 += a[j + 5] * b[j + 5];
            s6 += a[j + 6] * b[j + 6];
            s7 += a[j + 7] * b[j + 7];
        }
        for (; j < n; j++) {
            s0 += a[j] * b[j];
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }
}
