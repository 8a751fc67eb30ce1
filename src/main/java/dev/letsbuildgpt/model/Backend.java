package dev.letsbuildgpt.model;

import org.nd4j.linalg.factory.Nd4j;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

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

    /**
     * The GPU architectures ND4J 1.0.0-M2.1's CUDA build ({@code nd4j-cuda-11.6}) carries compiled kernels for, as
     * compute capabilities: read from the fatbin headers in its {@code libnd4jcuda.so}, which hold ELF cubins for
     * these and no PTX, so there is nothing for the driver to compile for a newer architecture.
     */
    public static final List<String> CUDA_CAPABILITIES = List.of("3.7", "5.0", "5.2", "6.0", "6.1", "7.0", "7.5",
            "8.0", "8.6");

    /**
     * Whether those kernels run on a device of this compute capability. A cubin runs on devices of its own major
     * version with an equal or higher minor (CUDA's binary compatibility: sm_86's run on an 8.9 Ada card), never
     * on another major version; so Kepler K80 (3.7) to Ampere and Ada run, Hopper (9.0) and later do not.
     */
    public static boolean cudaRuns(int major, int minor) {
        for (String c : CUDA_CAPABILITIES) {
            int dot = c.indexOf('.');
            if (Integer.parseInt(c.substring(0, dot)) == major && Integer.parseInt(c.substring(dot + 1)) <= minor) {
                return true;
            }
        }
        return false;
    }

    /**
     * On a GPU backend, refuses a device its kernels cannot run on, with one line naming the device, its compute
     * capability and the supported ones, instead of CUDA's "no kernel image is available" deep in a run.
     */
    static void checkDevices(Properties env) {
        if (!(env.get("cuda.devicesInformation") instanceof List<?> devices)) {
            return;
        }
        for (Object d : devices) {
            if (!(d instanceof Map<?, ?> m) || m.get("cuda.deviceMajor") == null || m.get("cuda.deviceMinor") == null) {
                continue;
            }
            int major = Integer.parseInt(String.valueOf(m.get("cuda.deviceMajor")).trim());
            int minor = Integer.parseInt(String.valueOf(m.get("cuda.deviceMinor")).trim());
            if (!cudaRuns(major, minor)) {
                throw new dev.letsbuildgpt.GptException(String.format("the GPU %s has compute capability %d.%d,"
                        + " and ND4J 1.0.0-M2.1's CUDA build has kernels for %s only (Kepler K80 to Ampere and"
                        + " Ada); use the CPU build (mvn package, without -Pcuda) or one of those GPUs",
                        m.get("cuda.deviceName"), major, minor, String.join(", ", CUDA_CAPABILITIES)));
            }
        }
    }

    public static synchronized void configure() {
        if (configured) {
            return;
        }
        if (!isCpu()) {
            checkDevices(Nd4j.getExecutioner().getEnvironmentInformation());   // before anything runs on the device
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

    /**
     * Where share {@code part} of {@code parts} of {@code length} values starts (share p runs to where p + 1 starts):
     * how work split by {@link #onThreads} divides an array, the same cut for any caller.
     */
    public static int shareStart(int length, int part, int parts) {
        return (int) ((long) length * part / parts);
    }

    /**
     * Runs work(0) .. work(n - 1) on the fast path's threads (the pool's and this one), each exactly once, each thread
     * taking the next not yet taken; returns when all are done, throwing the first failure.
     */
    public static void onThreads(int n, IntConsumer work) {
        AtomicInteger next = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(n);
        RuntimeException[] failure = new RuntimeException[1];
        Runnable take = () -> {
            for (int k; (k = next.getAndIncrement()) < n; done.countDown()) {
                try {
                    work.accept(k);
                } catch (RuntimeException e) {
                    synchronized (failure) {
                        failure[0] = failure[0] == null ? e : failure[0];
                    }
                }
            }
        };
        for (int i = 1; i < Math.min(Backend.threads(), n); i++) {
            Backend.pool().execute(take);   // a helper that starts late finds nothing left and ends
        }
        take.run();
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        if (failure[0] != null) {
            throw failure[0];
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
