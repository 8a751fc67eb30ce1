package dev.letsbuildgpt.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExpTest {
    /** Less than one unit in the last place from e^x, on every 101st float of [-87, 88] and the edges around it. */
    @Test
    void isWithinOneUnitInTheLastPlace() {
        double worst = 0;
        float at = 0;
        for (float lim : new float[]{88f, -87f}) {
            int end = Float.floatToRawIntBits(lim);
            for (int b = lim > 0 ? 0 : 0x80000000; Integer.compareUnsigned(b, end) <= 0; b += 101) {
                float x = Float.intBitsToFloat(b);
                double ulps = Math.abs(Exp.exp(x) - Math.exp(x)) / Math.ulp((float) Math.exp(x));
                if (ulps > worst) {
                    worst = ulps;
                    at = x;
                }
            }
        }
        assertTrue(worst < 1, "at most " + worst + " units in the last place, at x = " + at);
    }

    @Test
    void isExactWhereSoftmaxNeedsIt() {
        assertEquals(1f, Exp.exp(0f), "e^0: a softmax row's largest score");
        assertEquals(1f, Exp.exp(-0f));
        assertEquals(0f, Exp.exp(Float.NEGATIVE_INFINITY));
        assertEquals(0f, Exp.exp(-1e9f), "a masked score");
        assertTrue(Float.isNaN(Exp.exp(Float.NaN)));
        assertEquals(Float.POSITIVE_INFINITY, Exp.exp(100f));
        for (float x : new float[]{-87.5f, -100f, -103f, -104f, 88.5f}) {   // outside its range: Math.exp's
            assertEquals((float) Math.exp(x), Exp.exp(x), "e^" + x);
        }
    }

    /** A row at a time gives each value exp's bits, and their sum added in order, out of its range and at NaN too. */
    @Test
    void rowsAreExpValueByValue() {
        java.util.Random r = new java.util.Random(3);
        float[] row = new float[300];
        for (int i = 0; i < row.length; i++) {
            row[i] = (float) r.nextGaussian() * 30;   // some past -87 and 88 once shifted
        }
        row[7] = Float.NaN;
        row[8] = Float.NEGATIVE_INFINITY;
        row[9] = -1e9f;
        row[10] = 500f;
        Exp.Buffers buffers = new Exp.Buffers(row.length);
        for (int[] part : new int[][]{{0, 300}, {5, 1}, {3, 17}, {100, 200}}) {
            for (float shift : new float[]{0f, 2.5f, -60f}) {
                float[] a = row.clone();
                float sum = Exp.expShifted(a, part[0], part[1], shift, buffers);
                float expected = 0f;
                for (int j = part[0]; j < part[0] + part[1]; j++) {
                    float e = Exp.exp(row[j] - shift);
                    assertEquals(Float.floatToRawIntBits(e), Float.floatToRawIntBits(a[j]),
                            "e^(" + row[j] + " - " + shift + ")");
                    expected += e;
                }
                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(sum), "the sum, in order");
                for (int j = 0; j < row.length; j++) {
                    if (j < part[0] || j >= part[0] + part[1]) {
                        assertEquals(Float.floatToRawIntBits(row[j]), Float.floatToRawIntBits(a[j]), "outside the row");
                    }
                }
            }
        }
    }
}
