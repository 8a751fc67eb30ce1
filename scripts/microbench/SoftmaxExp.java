import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;

/**
 * Softmax's exponentials three ways, over a [256, 256] tile of scores already shifted by their row's maximum (the gpt
 * preset's one head), in nanoseconds a value:
 *
 *   make build && OMP_NUM_THREADS=1 java -XX:+UseSerialGC -cp "target/gpt.jar:target/lib/*" scripts/microbench/SoftmaxExp.java
 *
 * - Math.exp: (float) Math.exp(x), what Head's softmax did before, summed as softmax sums;
 * - Exp.exp: the project's float exp (model/Exp), the same loop;
 * - ND4J: ND4J's native Exp op in place on an array in native memory (the tile copied in first, as it would be).
 *
 * With the argument {@code sweep}: Exp.exp against Math.exp on every float of [-87, 88], the largest error in units in
 * the last place and where (about a minute; ExpTest checks every 101st of them).
 *
 * With {@code rows T}: softmax's numerators and denominator on causal rows (row r of a [T, T] tile has r + 1 scores, as
 * in attention), a loop calling Exp.exp and summing against Exp.expShifted, in nanoseconds a value, alternating.
 */
public class SoftmaxExp {
    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("sweep")) {
            sweep();
            return;
        }
        if (args.length > 1 && args[0].equals("rows")) {
            rows(Integer.parseInt(args[1]));
            return;
        }
        int n = 256 * 256;
        float[] scores = new float[n];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < n; i++) {
            scores[i] = -Math.abs((float) r.nextGaussian() * 4);
        }
        float[] a = new float[n];
        INDArray nd = Nd4j.createUninitialized(DataType.FLOAT, n);
        FloatBuffer nio = nd.data().asNioFloat();
        int reps = 50;
        for (int round = 0; round < 8; round++) {
            long t0 = System.nanoTime();
            float s1 = 0;
            for (int k = 0; k < reps; k++) {
                for (int i = 0; i < n; i++) {
                    float e = (float) Math.exp(scores[i]);
                    a[i] = e;
                    s1 += e;
                }
            }
            long t1 = System.nanoTime();
            float s2 = 0;
            for (int k = 0; k < reps; k++) {
                for (int i = 0; i < n; i++) {
                    float e = dev.letsbuildgpt.model.Exp.exp(scores[i]);
                    a[i] = e;
                    s2 += e;
                }
            }
            long t2 = System.nanoTime();
            for (int k = 0; k < reps; k++) {
                nio.position(0);
                nio.put(scores);
                Nd4j.exec(new org.nd4j.linalg.api.ops.impl.transforms.strict.Exp(nd, nd));
            }
            long t3 = System.nanoTime();
            System.out.printf("Math.exp %.2f ns, Exp.exp %.2f ns, ND4J %.2f ns a value (sums %.3f, %.3f)%n",
                    (t1 - t0) / (double) reps / n, (t2 - t1) / (double) reps / n, (t3 - t2) / (double) reps / n, s1, s2);
        }
    }

    static void sweep() {
        double worst = 0;
        float at = 0;
        long count = 0;
        for (float lim : new float[]{88f, -87f}) {
            long end = Float.floatToRawIntBits(lim) & 0xffffffffL;
            for (long b = lim > 0 ? 0 : 0x80000000L; b <= end; b++) {
                float x = Float.intBitsToFloat((int) b);
                double e = Math.exp(x);
                double ulps = Math.abs(dev.letsbuildgpt.model.Exp.exp(x) - e) / Math.ulp((float) e);
                count++;
                if (ulps > worst) {
                    worst = ulps;
                    at = x;
                }
            }
        }
        System.out.printf("%,d floats of [-87, 88]: at most %.4f units in the last place from e^x, at x = %s%n", count,
                worst, at);
    }

    static void rows(int t) {
        float[] scores = new float[t * t];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < scores.length; i++) {
            scores[i] = (float) r.nextGaussian() * 2;
        }
        float[] a = new float[t * t];
        dev.letsbuildgpt.model.Exp.Buffers buffers = new dev.letsbuildgpt.model.Exp.Buffers(t);
        int reps = Math.max(1, 20_000_000 / (t * t));
        double values = (double) reps * t * (t + 1) / 2;
        for (int round = 0; round < 8; round++) {
            float s1 = 0;
            float s2 = 0;
            long t0 = System.nanoTime();
            for (int k = 0; k < reps; k++) {
                System.arraycopy(scores, 0, a, 0, a.length);
                for (int row = 0; row < t; row++) {
                    float sum = 0f;
                    for (int j = 0, o = row * t; j <= row; j++) {
                        float e = dev.letsbuildgpt.model.Exp.exp(a[o + j] - 1f);
                        a[o + j] = e;
                        sum += e;
                    }
                    s1 += sum;
                }
            }
            long t1 = System.nanoTime();
            for (int k = 0; k < reps; k++) {
                System.arraycopy(scores, 0, a, 0, a.length);
                for (int row = 0; row < t; row++) {
                    s2 += dev.letsbuildgpt.model.Exp.expShifted(a, row * t, row + 1, 1f, buffers);
                }
            }
            long t2 = System.nanoTime();
            System.out.printf("rows of 1..%d: a loop of Exp.exp %.2f ns, Exp.expShifted %.2f ns a value (sums %s)%n", t,
                    (t1 - t0) / values, (t2 - t1) / values, s1 == s2 ? "equal" : "DIFFER");
        }
    }
}
