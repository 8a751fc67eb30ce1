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
        if (!(x >= -87f && x <= 88f)) {
            return (float) Math.exp(x);
        }
        float n = (x * LOG2E + ROUND) - ROUND;
        float r = x - n * LN2_HI;
        r = r - n * LN2_LO;
        float p = 1.9875691500e-4f;
        p = p * r + 1.3981999507e-3f;
        p = p * r + 8.3334519073e-3f;
        p = p * r + 4.1665795894e-2f;
        p = p * r + 1.6666665459e-1f;
        p = p * r + 5.0000001201e-1f;
        p = p * r * r + r + 1f;
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }
}
