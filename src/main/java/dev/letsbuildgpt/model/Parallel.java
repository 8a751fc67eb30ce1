package dev.letsbuildgpt.model;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * Short pieces of work split into a fixed number of parts and run at once: part 0 on the caller, the others on
 * helper threads that wait for work by spinning for a while before they sleep. This is for the many small splits
 * of a prefill (a few dozen per sampled token, each tens of microseconds): waking a sleeping thread took 20-60 us
 * on the 2-core machines measured here, a spinning one 0.1 us (docs/BENCHMARKS.md).
 *
 * <p>The caller fixes the number of parts, not the machine: with fewer threads, or while another run is going on,
 * the caller runs the remaining parts itself, one after another, and the arithmetic is the same.
 */
final class Parallel {
    /** How long an idle helper spins before it sleeps: longer than the gaps between splits, and between the prefills
     * of a sample past block_size (at 0.2 ms, the helper slept about twice per sampled token). */
    private static final long SPIN_NANOS = 2_000_000;

    private static final AtomicBoolean busy = new AtomicBoolean();
    private static Helper[] helpers;
    /** The latest run: each helper works on the run it read, so a late one never touches the next run's parts. */
    private static volatile Job job;

    private Parallel() {
    }

    private static final class Job {
        final IntConsumer task;
        final int parts;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile RuntimeException failure;

        Job(IntConsumer task, int parts) {
            this.task = task;
            this.parts = parts;
        }

        /** Takes parts until none is left. */
        void work() {
            for (int p; (p = next.getAndIncrement()) < parts; ) {
                try {
                    task.accept(p);
                } catch (RuntimeException e) {
                    failure = e;
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    /** Runs part(0) .. part(n - 1), each exactly once, and returns when all are done. */
    static void run(int n, IntConsumer part) {
        if (n <= 1 || Backend.threads() == 1 || !busy.compareAndSet(false, true)) {
            for (int p = 0; p < n; p++) {   // one thread, or a run already going on (another thread's, or nested)
                part.accept(p);
            }
            return;
        }
        try {
            Helper[] hs = helpers(Math.min(n, Backend.threads()) - 1);
            Job j = new Job(part, n);
            job = j;                        // publishes the run to the helpers
            for (Helper h : hs) {
                if (h.sleeping) {
                    LockSupport.unpark(h.thread);
                }
            }
            j.work();
            while (j.done.get() < n) {
                Thread.onSpinWait();
            }
            if (j.failure != null) {
                throw j.failure;
            }
        } finally {
            busy.set(false);
        }
    }

    /** At least {@code count} helpers (started on first need, then kept: they sleep when there is no work). */
    private static synchronized Helper[] helpers(int count) {
        if (helpers == null || helpers.length < count) {
            Helper[] more = helpers == null ? new Helper[count] : java.util.Arrays.copyOf(helpers, count);
            for (int i = helpers == null ? 0 : helpers.length; i < count; i++) {
                more[i] = new Helper();
            }
            helpers = more;
        }
        return helpers;
    }

    private static final class Helper implements Runnable {
        final Thread thread;
        volatile boolean sleeping;

        Helper() {
            thread = new Thread(this, "gpt-parallel");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void run() {
            Job seen = job;
            while (true) {
                long spinUntil = System.nanoTime() + SPIN_NANOS;
                while (job == seen) {
                    if (System.nanoTime() < spinUntil) {
                        Thread.onSpinWait();
                    } else {
                        sleeping = true;        // then look again: a run published before this is not missed
                        if (job == seen) {
                            LockSupport.park(this);
                        }
                        sleeping = false;
                        spinUntil = System.nanoTime() + SPIN_NANOS;
                    }
                }
                seen = job;
                seen.work();
            }
        }
    }
}
