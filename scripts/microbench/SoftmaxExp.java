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
 */
public class SoftmaxExp {
    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("sweep")) {
            sweep();
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
}
