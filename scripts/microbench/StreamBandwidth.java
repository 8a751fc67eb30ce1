/**
 * How fast this machine streams a model's weights through a decoding step, on one core and on two:
 * java scripts/microbench/StreamBandwidth.java [MEGABYTES]      (default 42.5: the gpt preset's blocks, config B)
 *
 * A cached decoding step multiplies one position by every weight once, so it reads them all (10.6M floats on B) and
 * does two flops per float read: memory-bound. This does the same access pattern as Linear.step (each row copied,
 * then y += x * row, which the JIT vectorises) over a matrix of that size, three ways: on one thread; on two, each
 * thread taking half of every row's columns (the two read interleaved 3 KB pieces of the matrix); and on two, each
 * thread taking one contiguous half of the rows (its own sum over them, added at the end), which is what
 * Linear.step does for a large layer. GB/s = bytes of weights read per second; the best of the rounds after the
 * warm-up ones (docs/BENCHMARKS.md).
 */
public class StreamBandwidth {
    static final int COLS = 1536;
    static int rows;
    static float[] w;

    /** y[c0..c1) += x[i] w[i, c0..c1) for rows i0..i1-1. */
    static void axpy(float[] y, float[] x, int i0, int i1, int c0, int c1) {
        float[] row = new float[COLS];
        for (int i = i0; i < i1; i++) {
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
        float[] y2 = new float[COLS];
        java.util.concurrent.ExecutorService helper = java.util.concurrent.Executors.newSingleThreadExecutor();
        double gb = 10.0 * w.length * 4 / 1e9;
        double[] best = new double[3];
        for (int round = 0; round < 12; round++) {
            double[] rate = new double[3];
            for (int way = 0; way < 3; way++) {
                long t0 = System.nanoTime();
                for (int k = 0; k < 10; k++) {
                    if (way == 0) {
                        axpy(y, x, 0, rows, 0, COLS);
                    } else if (way == 1) {
                        java.util.concurrent.Future<?> f = helper.submit(() -> axpy(y, x, 0, rows, COLS / 2, COLS));
                        axpy(y, x, 0, rows, 0, COLS / 2);
                        f.get();
                    } else {
                        java.util.concurrent.Future<?> f = helper.submit(() -> axpy(y2, x, rows / 2, rows, 0, COLS));
                        axpy(y, x, 0, rows / 2, 0, COLS);
                        f.get();
                    }
                }
                rate[way] = gb / ((System.nanoTime() - t0) / 1e9);
                if (round >= 2) {
                    best[way] = Math.max(best[way], rate[way]);
                }
            }
            System.out.printf("round %2d: one thread %5.1f GB/s, two by columns %5.1f, two by rows %5.1f%n", round,
                    rate[0], rate[1], rate[2]);
        }
        helper.shutdown();
        System.out.printf("%.1f MB of weights, best: one thread %.1f GB/s (%.2f ms a pass), two threads by columns"
                + " %.1f GB/s (%.2f ms), two by rows %.1f GB/s (%.2f ms)%n", w.length * 4 / 1e6, best[0],
                w.length * 4 / 1e6 / best[0], best[1], w.length * 4 / 1e6 / best[1], best[2],
                w.length * 4 / 1e6 / best[2]);
    }
}
