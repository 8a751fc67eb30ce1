package dev.letsbuildgpt.bench;

import dev.letsbuildgpt.model.Backend;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The machine's measured float32 matmul speed: the yardstick for model FLOPs utilisation (MFU). One large square
 * matrix product into a preallocated output, through ND4J's BLAS, best of several runs.
 */
public final class MatmulPeak {
    private MatmulPeak() {
    }

    /** GFLOP/s of an n x n x n sgemm with {@code threads} BLAS threads (best of 5). */
    public static double gflops(int threads, int n) {
        Backend.configure();
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray c = Nd4j.zeros(DataType.FLOAT, n, n);
        var blas = Nd4j.factory().blas();
        int before = blas.getMaxThreads();
        blas.setMaxThreads(threads);
        try {
            double best = 0;
            for (int i = 0; i < 6; i++) {
                long t0 = System.nanoTime();
                Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
                double s = (System.nanoTime() - t0) / 1e9;
                if (i > 0) {   // the first run pays for page faults and thread start-up
                    best = Math.max(best, 2.0 * n * n * n / s / 1e9);
                }
            }
            return best;
        } finally {
            blas.setMaxThreads(before);
        }
    }
}
