package dev.letsbuildgpt.model;

import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J's thread settings, applied before the first model is built so that every entry point (CLI, notebooks,
 * tests) trains at the same, measured-fastest speed without flags.
 *
 * <p>On CPU, ND4J's own OpenMP loops and OpenBLAS's threads compete for the same cores; for this project's model
 * sizes one thread each ran about twice as fast on 2 cores as the defaults (docs in README, "Speed"). Set
 * {@code GPT_THREADS} to choose another count.
 */
public final class Backend {
    private static boolean configured;
    private static int threads;

    private Backend() {
    }

    /** The thread count set for ND4J and BLAS (GPT_THREADS, default 1; 0 or less: ND4J's own defaults). */
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
        threads = env == null || env.isBlank() ? 1 : Integer.parseInt(env.trim());
        if (threads > 0 && isCpu()) {
            Nd4j.getEnvironment().setMaxThreads(threads);
            Nd4j.getEnvironment().setMaxMasterThreads(threads);
            Nd4j.getBlasWrapper().lapack();  // make sure the BLAS backend is loaded before it is configured
            Nd4j.factory().blas().setMaxThreads(threads);
        }
    }
}
