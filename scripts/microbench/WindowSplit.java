import org.bytedeco.openblas.global.openblas;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * A block's four linear products over a decoder's window, split between two threads the two ways a window can be:
 * by rows (each thread half of the rows, all of the columns) or as Block.Pass#forwardInParts does (all of the rows:
 * q/k/v and the feed-forward's hidden layer by output columns, the projections by input columns), for config A or B:
 *
 *   make build && OMP_NUM_THREADS=1 OPENBLAS_CORETYPE=Haswell \
 *     java -XX:+UseSerialGC -cp "target/gpt.jar:target/lib/*" scripts/microbench/WindowSplit.java A
 *
 * The two threads run the products alone, at once, without handoffs: what the split does to BLAS's speed, apart
 * from everything else in a window. Microseconds per block per thread, six rounds of each way, alternating.
 */
public class WindowSplit {
    public static void main(String[] args) throws Exception {
        org.nd4j.linalg.factory.Nd4j.create(1);   // loads ND4J's OpenBLAS
        boolean b = args.length > 0 && args[0].equals("B");
        int t = b ? 256 : 64;
        int c = b ? 384 : 128;
        int reps = b ? 60 : 4000;
        FloatBuffer[] w = {random(c * 3 * c), random(c * c), random(c * 4 * c), random(4 * c * c)};   // shared
        FloatBuffer[][] act = new FloatBuffer[2][];
        for (int p = 0; p < 2; p++) {
            act[p] = new FloatBuffer[]{random(t * c), random(t * 3 * c), random(t * c), random(t * c), random(t * 4 * c),
                    random(t * c)};
        }
        for (int round = 0; round < 6; round++) {
            for (boolean byRows : new boolean[]{true, false}) {
                long[] ns = new long[2];
                Thread[] threads = new Thread[2];
                for (int p = 0; p < 2; p++) {
                    int part = p;
                    threads[p] = new Thread(() -> {
                        long t0 = System.nanoTime();
                        for (int i = 0; i < reps; i++) {
                            block(byRows, part, t, c, w, act[part]);
                        }
                        ns[part] = System.nanoTime() - t0;
                    });
                }
                for (Thread th : threads) {
                    th.start();
                }
                for (Thread th : threads) {
                    th.join();
                }
                System.out.printf("%s round %d, %s: %.1f / %.1f us per block per thread%n", b ? "B" : "A", round + 1,
                        byRows ? "by rows   " : "by columns", ns[0] / 1e3 / reps, ns[1] / 1e3 / reps);
            }
        }
    }

    /** x [t, c] -> q/k/v [t, 3c]; heads [t, c] -> projection [t, c]; x -> hidden [t, 4c] -> [t, c]. */
    static void block(boolean byRows, int p, int t, int c, FloatBuffer[] w, FloatBuffer[] a) {
        if (byRows) {
            int m = t / 2;
            mm(m, 3 * c, c, a[0], 0, c, w[0], 0, 3 * c, a[1], 0, 3 * c);
            mm(m, c, c, a[2], 0, c, w[1], 0, c, a[3], 0, c);
            mm(m, 4 * c, c, a[0], 0, c, w[2], 0, 4 * c, a[4], 0, 4 * c);
            mm(m, c, 4 * c, a[4], 0, 4 * c, w[3], 0, c, a[5], 0, c);
        } else {
            int half = c / 2;
            for (int third = 0; third < 3; third++) {
                mm(t, half, c, a[0], 0, c, w[0], third * c + p * half, 3 * c, a[1], third * c + p * half, 3 * c);
            }
            mm(t, c, half, a[2], p * half, c, w[1], p * half * c, c, a[3], 0, c);
            mm(t, 2 * c, c, a[0], 0, c, w[2], p * 2 * c, 4 * c, a[4], p * 2 * c, 4 * c);
            mm(t, c, 2 * c, a[4], p * 2 * c, 4 * c, w[3], p * 2 * c * c, c, a[5], 0, c);
        }
    }

    static void mm(int m, int n, int k, FloatBuffer a, int ao, int lda, FloatBuffer b, int bo, int ldb, FloatBuffer c,
                   int co, int ldc) {
        openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans, openblas.CblasNoTrans, m, n, k, 1f,
                a.duplicate().position(ao), lda, b.duplicate().position(bo), ldb, 0f, c.duplicate().position(co), ldc);
    }

    static FloatBuffer random(int n) {
        FloatBuffer f = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        java.util.Random r = new java.util.Random(n);
        for (int i = 0; i < n; i++) {
            f.put(i, r.nextFloat());
        }
        return f;
    }
}
