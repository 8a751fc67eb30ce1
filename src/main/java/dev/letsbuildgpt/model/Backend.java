package dev.letsbuildgpt.model;

import org.nd4j.linalg.factory.Nd4j;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Where and how the models compute: ND4J's backend (CPU or GPU) and the threads of the CPU fast path.
 *
 * <p>On the CPU, ND4J's own loops and OpenBLAS run single-threaded: the fast path gets its parallelism from
 * computing the shards of a batch on several threads at once ({@link Shards}), each with single-threaded BLAS, which
 * measured faster than threading inside each product and keeps every product's arithmetic the same whatever the
 * machine. {@code GPT_THREADS} sets the number of those threads (default: one per core); it changes the speed only,
 * never the numbers.
 */
public final class Backend {
    private static boolean configured;
    private static int threads;
    private static ExecutorService pool;

    private Backend() {
    }

    /** The fast path's threads: GPT_THREADS, or one per core. */
    public static synchronized int threads() {
        configure();
        return threads;
    }

    /** Whether ND4J computes on the CPU (nd4j-native) rather than a GPU. */
    public static boolean isCpu() {
        return Nd4j.getBackend().getClass().getSimpleName().startsWith("Cpu");
    }

    public static synchronized void configure() {
        if (configured) {
            return;
        }
        configured = true;
        String env = System.getenv("GPT_THREADS");
        int cores = Runtime.getRuntime().availableProcessors();
        try {
            threads = env == null || env.isBlank() ? cores : Integer.parseInt(env.trim());
        } catch (NumberFormatException e) {
            threads = 0;
        }
        if (threads < 1) {
            throw new dev.letsbuildgpt.GptException("GPT_THREADS must be a positive number of threads, got '" + env + "'");
        }
        if (isCpu()) {
            Nd4j.getEnvironment().setMaxThreads(1);
            Nd4j.getEnvironment().setMaxMasterThreads(1);
            Nd4j.getBlasWrapper().lapack();  // make sure the BLAS backend is loaded before it is configured
            Nd4j.factory().blas().setMaxThreads(1);
        }
    }

    /** The fast path's helper threads, besides the caller's own (daemons, shared by every model in the process). */
    static synchronized ExecutorService pool() {
        configure();
        if (pool == null) {
            pool = Executors.newFixedThreadPool(Math.max(1, threads - 1), r -> {
                Thread t = new Thread(r, "gpt-worker");
                t.setDaemon(true);
                return t;
            });
        }
        return pool;
    }
}
