package dev.letsbuildgpt.model;

/**
 * e^x in float, for softmax's weights: less than one unit in the last place from e^x (every float in the range it
 * computes was checked once, scripts/microbench/SoftmaxExp.java sweep: at most 0.992 units, at x = -81.39; ExpTest
 * checks a sample of them), at about 40 % of the cost of {@code (float) Math.exp(x)}.
 *
 * <p>Why not Math.exp: JDK 17 computes it in double precision through a stub the JIT never vectorises: 9.6 ns a
 * value in a softmax loop on this project's Intel Xeon, where this takes 3.7 (scripts/microbench/SoftmaxExp.java); the
 * exponentials were about 4 % of a training step on the cpu preset and of a gpt decoder's window (async-profiler).
 * ND4J's native exp is faster still (2.5 ns) but works on ND4J arrays, while softmax's rows are Java arrays. On the
 * AMD EPYC of earlier runs Math.exp took 4.9 ns and a polynomial like this one 5.3 (docs/BENCHMARKS.md): a wash there.
 *
 * <p>How (the method of Cephes' expf): x = n ln 2 + r with n an integer and |r| <= ln2 / 2; e^r from a degree-7
 * polynomial; 2^n built directly as a float's exponent bits. ln 2 is split in two parts, the first with few enough
 * bits that n times it is exact, so that r loses nothing. Outside [-87, 88] (results near or past float's smallest
 * normal and largest values), and for NaN, it is Math.exp.
 */
public final class Exp {
    private Exp() {
    }

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;          // 355/512: n * LN2_HI is exact for |n| < 2^15
    private static final float LN2_LO = -2.12194440e-4f;       // ln 2 - LN2_HI
    private static final float ROUND = 12582912f;              // 1.5 * 2^23: x + ROUND - ROUND rounds x to an integer

    public static float exp(float x) {
        if (!inRange(x)) {
            return (float) Math.exp(x);
        }
        float n = roundedLog2(x);
        return power(x, n) * twoTo(n);
    }

    /**
     * a[from + j] = exp(a[from + j] - shift) for j below n, each the same bits as {@link #exp} gives it, and their sum
     * added in order from the first: softmax's numerators and denominator. The polynomial of every value runs in a
     * loop of its own over arrays read and written at the same index, which the JIT vectorises; a loop that also makes
     * 2^n from its bits, or may call Math.exp, is not, and neither is a sum whose order is kept. So that loop leaves
     * e^r and n in the buffers, and a second, value by value, scales, handles the values outside [-87, 88] and adds.
     * On causal rows of 1 to 256 values (B's attention) 2.0 ns a value against 4.2 for a loop calling exp; 2.4 against
     * 4.1 up to 64 (A), 3.1 against 4.2 up to 32 (T) (`scripts/microbench/SoftmaxExp.java rows 256`, AMD EPYC with
     * AVX-512, 2026-12-06).
     */
    public static float expShifted(float[] a, int from, int n, float shift, Buffers b) {
        float[] x = b.x;
        float[] e = b.e;
        float[] k = b.n;
        System.arraycopy(a, from, x, 0, n);
        for (int j = 0; j < n; j++) {   // vectorised: every array at index j
            float v = x[j] - shift;
            float m = roundedLog2(v);
            e[j] = power(v, m);
            k[j] = m;
            x[j] = v;
        }
        float sum = 0f;
        for (int j = 0; j < n; j++) {
            float v = inRange(x[j]) ? e[j] * twoTo(k[j]) : (float) Math.exp(x[j]);
            a[from + j] = v;
            sum += v;
        }
        return sum;
    }

    /** The buffers {@link #expShifted} works in, for rows of up to {@code length} values: one per thread using them. */
    public static final class Buffers {
        final float[] x;
        final float[] e;
        final float[] n;

        public Buffers(int length) {
            x = new float[length];
            e = new float[length];
            n = new float[length];
        }
    }

    private static boolean inRange(float x) {
        return x >= -87f && x <= 88f;   // false for NaN
    }

    /** n: x / ln 2 rounded to an integer (by adding and taking away 1.5 * 2^23), as a float. */
    private static float roundedLog2(float x) {
        return (x * LOG2E + ROUND) - ROUND;
    }

    /** e^r for r = x - n ln 2, from the polynomial. */
    private static float power(float x, float n) {
        float r = x - n * LN2_HI;
        r = r - n * LN2_LO;
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        return p * r * r + r + 1f;
    }

    /** 2^n for an integer n in [-126, 127], made as a float's exponent bits. */
    private static float twoTo(float n) {
        return Float.intBitsToFloat(((int) n + 127) << 23);
    }
}
