/**
 * How fast this machine streams a model's weights through a decoding step, on one core and on two:
 * java scripts/microbench/StreamBandwidth.java [MEGABYTES]      (default 42.5: the gpt preset's blocks, config B)
 *
 * A cached decoding step multiplies one position by every weight once, so it reads them all (10.6M floats on B) and
 * does two flops per float read: memory-bound. This does the same access pattern as Linear.step (each row copied,
 * then y += x * row, which the JIT vectorises) over a matrix of that size, with the columns split between two threads
 * for the second figure (each output its own thread's sum, as a split step would have it). GB/s = bytes of weights
 * read per second; the best of the rounds after the warm-up ones (docs/BENCHMARKS.md).
 */
public class StreamBandwidth {
    static final int COLS = 1536;
    static int rows;
    static float[] w;

    static void axpy(float[] y, float[] x, int c0, int c1) {
        float[] row = new float[COLS];
        for (int i = 0; i < rows; i++) {
            float xi = x[i];
            System.arraycopy(w, i * COLS + c0, row, c0, c1 - c0);
            for (int j = c0; j < c1; j++) {
                y[j] += xi * row[j];
            }
        }
    }

    public static void main(String[] args) throws Exception {
        double mb = args.length > 0 ? Double.parseDouble(args[0]) : 42.5;
        rows = (int) (mb * 1e6 / 4 / COLS);
        w = new float[rows * COLS];
        for (int i = 0; i < w.length; i++) {
            w[i] = (i % 7) * 0.01f;
        }
        float[] x = new float[rows];
        java.util.Arrays.fill(x, 0.5f);
        float[] y = new float[COLS];
        java.util.concurrent.ExecutorService helper = java.util.concurrent.Executors.newSingleThreadExecutor();
        double gb = 10.0 * w.length * 4 / 1e9;
        double best1 = 0, best2 = 0;
        for (int round = 0; round < 12; round++) {
            long t0 = System.nanoTime();
            for (int k = 0; k < 10; k++) {
                axpy(y, x, 0, COLS);
            }
            long t1 = System.nanoTime();
            for (int k = 0; k < 10; k++) {
                java.util.concurrent.Future<?> f = helper.submit(() -> axpy(y, x, COLS / 2, COLS));
                axpy(y, x, 0, COLS / 2);
                f.get();
            }
            long t2 = System.nanoTime();
            double one = gb / ((t1 - t0) / 1e9);
            double two = gb / ((t2 - t1) / 1e9);
            System.out.printf("round %2d: one thread %5.1f GB/s, two threads %5.1f GB/s%n", round, one, two);
            if (round >= 2) {
                best1 = Math.max(best1, one);
                best2 = Math.max(best2, two);
            }
        }
        helper.shutdown();
        System.out.printf("%.1f MB of weights: best one thread %.1f GB/s (%.2f ms a pass), two threads %.1f GB/s"
                + " (%.2f ms a pass)%n", w.length * 4 / 1e6, best1, w.length * 4 / 1e6 / best1, best2,
                w.length * 4 / 1e6 / best2);
    }
}
