package dev.letsbuildgpt.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.letsbuildgpt.model.GptConfig;
import dev.letsbuildgpt.train.Json;
import dev.letsbuildgpt.train.RunConfig;
import org.bytedeco.openblas.global.openblas;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Which of OpenBLAS's kernels run the matrix products (its {@code OPENBLAS_CORETYPE}), and whether they compute them
 * correctly on this CPU.
 *
 * <p>OpenBLAS chooses its kernels by CPU model when it loads. ND4J 1.0.0-M2.1 ships OpenBLAS 0.3.19, which does not
 * know CPUs newer than it and falls back to a slow generic kernel on them (2.6x slower products on an AMD EPYC, 3x on
 * an Intel Xeon of 2023: docs/BENCHMARKS.md), so the Makefile names a core type. Haswell's kernels need only AVX2 and
 * FMA and are the default wherever the CPU has both. On a CPU with AVX-512, OpenBLAS's SkylakeX kernels can be much
 * faster (1.3-1.8x on the Xeon above), but OpenBLAS has had releases whose AVX-512 kernels computed wrong products
 * (and 0.3.19's have not been proven right on any CPU here), so another core type is used only where this check
 * passed on the CPU itself, and only where it is faster: {@code gpt blas} runs {@link #probe} once per candidate,
 * each in a JVM of its own started with that core type.
 *
 * <p>The check ({@link #probe}): about 11,000 products of every shape from 1 to 33 rows, columns and inner size, in
 * all four transposes, with alpha and beta, row strides wider than the rows and offsets into the buffers (as
 * attention's per-head products use them), every element against a double-precision product within float32's
 * error bound for a sum of k terms; then this project's own training shapes (every preset's linear layers, forward
 * and backward, and its attention's per-head products), sampled elements checked the same way; on every core at
 * once, as training runs them; and that nothing outside the output was written.
 */
public final class OpenBlasKernels {
    private OpenBlasKernels() {
    }

    /** The kernels to try on a CPU with these /proc/cpuinfo flags, the safe default first; empty without AVX2 and FMA. */
    public static List<String> candidates(Set<String> flags) {
        List<String> c = new ArrayList<>();
        if (flags.containsAll(List.of("avx2", "fma"))) {
            c.add("Haswell");
            if (flags.containsAll(List.of("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"))) {
                c.add("SkylakeX");
                if (flags.contains("avx512_bf16")) {
                    c.add("Cooperlake");
                }
            }
        }
        return c;
    }

    /** This CPU's flags (empty where /proc/cpuinfo is not there). */
    public static Set<String> cpuFlags() {
        return new LinkedHashSet<>(Arrays.asList(cpuInfo("flags").split("\\s+")));
    }

    /** A /proc/cpuinfo field of the first CPU, or "" where there is none. */
    public static String cpuInfo(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).trim().equals(field)) {
                    return line.substring(colon + 1).trim();
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return "";
    }

    /** One product: c [m, n] = alpha op(a) op(b) + beta c, op(a) [m, k], op(b) [k, n]. */
    record Shape(boolean transA, boolean transB, int m, int n, int k) {
        double flops() {
            return 2.0 * m * n * k;
        }
    }

    /**
     * Checks (and with {@code timed}, times) this process's kernels (whatever OPENBLAS_CORETYPE it was started with)
     * on {@code threads} threads at once. Returns {@code correct}, the first {@code failures}, the number of
     * {@code products} checked, and {@code cpu_gflops}, {@code gpt_gflops}: per thread, on the training products of
     * the {@code cpu} and {@code gpt} presets.
     */
    public static ObjectNode probe(int threads, boolean timed) {
        org.nd4j.linalg.factory.Nd4j.create(1);   // loads ND4J's OpenBLAS, as training does
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        long[] products = new long[threads];
        double[][] gflops = new double[threads][];
        AtomicReference<Throwable> crash = new AtomicReference<>();
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int id = t;
            ts[t] = new Thread(() -> {
                try {
                    Random r = new Random(1337 + id);
                    Buffers buffers = new Buffers();
                    products[id] = small(r, buffers, failures) + project(r, buffers, failures);
                    if (timed) {
                        gflops[id] = new double[]{timed(r, "cpu", failures), timed(r, "gpt", failures)};
                    }
                } catch (Throwable e) {
                    crash.set(e);
                }
            });
            ts[t].start();
        }
        for (Thread t : ts) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted");
            }
        }
        if (crash.get() != null) {
            failures.add(0, "crashed: " + crash.get());
        }
        ObjectNode r = Json.SNAKE.createObjectNode();
        r.put("coretype", System.getenv().getOrDefault("OPENBLAS_CORETYPE", "unset"));
        r.put("correct", failures.isEmpty());
        ArrayNode f = r.putArray("failures");
        failures.stream().limit(5).forEach(f::add);
        r.put("products", Arrays.stream(products).sum());
        if (crash.get() == null && timed) {
            for (int p = 0; p < 2; p++) {
                int preset = p;
                r.put((p == 0 ? "cpu" : "gpt") + "_gflops",
                        Benchmark.round(Arrays.stream(gflops).mapToDouble(g -> g[preset]).average().orElse(0), 1));
            }
        }
        return r;
    }

    /** Every shape with m, n, k in SIZES, each transpose, alpha and beta and padding varied; every element checked. */
    private static final int[] SIZES = {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 32, 33};

    private static long small(Random r, Buffers buffers, List<String> failures) {
        long count = 0;
        for (int m : SIZES) {
            for (int n : SIZES) {
                for (int k : SIZES) {
                    for (int tr = 0; tr < 4; tr++) {
                        boolean odd = (count & 1) == 1;
                        check(r, buffers, new Shape((tr & 1) == 1, (tr & 2) == 2, m, n, k), odd ? 0.125f : 1f,
                                (count & 2) == 2 ? 1f : 0f, odd ? 3 : 0, Integer.MAX_VALUE, failures);
                        count++;
                    }
                }
            }
        }
        return count;
    }

    /** The products every preset's training and sampling make (see Linear and Head), 64 sampled elements each. */
    private static long project(Random r, Buffers buffers, List<String> failures) {
        long count = 0;
        for (Shape s : projectShapes(List.of("head", "layernorm", "notebook", "cpu", "gpt"), true)) {
            check(r, buffers, s, 1f, s.transA ? 1f : 0f, 0, 64, failures);
            count++;
        }
        return count;
    }

    /**
     * A preset's products per shard: each linear layer forward (x W), for the input's gradient (dy W^T) and the
     * weight's (x^T dy); with {@code attention}, one head's products too (q k^T, wei v, and their gradients).
     */
    static List<Shape> projectShapes(List<String> presets, boolean attention) {
        Set<Shape> shapes = new LinkedHashSet<>();
        for (String name : presets) {
            RunConfig rc = RunConfig.preset(name);
            GptConfig g = rc.model();
            int c = g.nEmbd();
            int t = g.blockSize();
            int rows = Math.max(1, rc.train().batchSize() / rc.train().shards()) * t;
            int[][] layers = {{c, 3 * c}, {c, c}, {c, 4 * c}, {4 * c, c}, {c, RunConfig.SHAKESPEARE_VOCAB}};
            for (int[] l : layers) {
                shapes.add(new Shape(false, false, rows, l[1], l[0]));
                shapes.add(new Shape(false, true, rows, l[0], l[1]));
                shapes.add(new Shape(true, false, l[0], l[1], rows));
            }
            if (attention) {
                int hs = c / g.nHead();
                shapes.add(new Shape(false, true, t, t, hs));
                shapes.add(new Shape(false, false, t, hs, t));
                shapes.add(new Shape(true, false, t, hs, t));
            }
        }
        return new ArrayList<>(shapes);
    }

    /** GFLOP/s of a preset's linear layers' products (per shard, forward and backward), best of three rounds. */
    private static double timed(Random r, String preset, List<String> failures) {
        List<Shape> shapes = projectShapes(List.of(preset), false);
        List<Operands> ops = new ArrayList<>();
        double flops = 0;
        for (Shape s : shapes) {
            ops.add(new Operands(r, new Buffers(), s, 0));   // buffers of their own: all are multiplied in turn
            flops += s.flops();
        }
        int reps = (int) Math.max(1, Math.ceil(2e9 / flops));   // each round at least ~2 GFLOP
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 4; round++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                for (Operands o : ops) {
                    o.multiply(1f, 0f);
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (round > 0) {   // the first pays for page faults
                best = Math.min(best, seconds);
            }
        }
        for (Operands o : ops) {
            String f = o.verify(r, 1f, 0f, 64);
            if (f != null) {
                failures.add(f);
            }
        }
        return flops * reps / best / 1e9;
    }

    private static void check(Random r, Buffers buffers, Shape s, float alpha, float beta, int pad, int samples,
                              List<String> failures) {
        Operands o = new Operands(r, buffers, s, pad);
        o.multiply(alpha, beta);
        String f = o.verify(r, alpha, beta, samples);
        if (f != null) {
            failures.add(f);
        }
    }

    /** A thread's direct buffers for the operands, grown to the largest product and reused. */
    static final class Buffers {
        final FloatBuffer[] abc = new FloatBuffer[3];

        FloatBuffer get(int which, int n) {
            if (abc[which] == null || abc[which].capacity() < n) {
                abc[which] = ByteBuffer.allocateDirect(n * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
            }
            return abc[which];
        }
    }

    /** A product's operands in direct buffers, at an offset and with row strides {@code pad} wider than the rows. */
    static final class Operands {
        static final float OUTSIDE = 12345.5f;   // written around c's elements; must be there after
        final Shape s;
        final int pad;
        final int lda;
        final int ldb;
        final int ldc;
        final FloatBuffer a;
        final FloatBuffer b;
        final FloatBuffer c;
        final int cSize;    // the part of c's buffer this product uses: pad, m rows of ldc, pad
        final float[] c0;   // c before the product

        Operands(Random r, Buffers buffers, Shape s, int pad) {
            this.s = s;
            this.pad = pad;
            int aRows = s.transA ? s.k : s.m;
            int aCols = s.transA ? s.m : s.k;
            int bRows = s.transB ? s.n : s.k;
            int bCols = s.transB ? s.k : s.n;
            lda = aCols + pad;
            ldb = bCols + pad;
            ldc = s.n + pad;
            a = random(r, buffers.get(0, pad + aRows * lda), pad + aRows * lda);
            b = random(r, buffers.get(1, pad + bRows * ldb), pad + bRows * ldb);
            cSize = pad + s.m * ldc + pad;
            c = random(r, buffers.get(2, cSize), cSize);
            for (int i = 0; i < cSize; i++) {
                int e = i - pad;
                if (e < 0 || e >= s.m * ldc || e % ldc >= s.n) {
                    c.put(i, OUTSIDE);
                }
            }
            c0 = new float[cSize];
            c.get(0, c0);
        }

        void multiply(float alpha, float beta) {
            openblas.cblas_sgemm(openblas.CblasRowMajor, s.transA ? openblas.CblasTrans : openblas.CblasNoTrans,
                    s.transB ? openblas.CblasTrans : openblas.CblasNoTrans, s.m, s.n, s.k, alpha,
                    a.duplicate().position(pad), lda, b.duplicate().position(pad), ldb, beta,
                    c.duplicate().position(pad), ldc);
        }

        /** A failure's description, or null: {@code samples} elements (all, if fewer) and everything outside c. */
        String verify(Random r, float alpha, float beta, int samples) {
            long elements = (long) s.m * s.n;
            for (long e = 0; e < Math.min(elements, samples); e++) {
                long at = elements <= samples ? e : (long) (r.nextDouble() * elements);
                int i = (int) (at / s.n);
                int j = (int) (at % s.n);
                double sum = 0;
                double abs = 0;
                for (int p = 0; p < s.k; p++) {
                    double x = a.get(pad + (s.transA ? p * lda + i : i * lda + p));
                    double y = b.get(pad + (s.transB ? j * ldb + p : p * ldb + j));
                    sum += x * y;
                    abs += Math.abs(x * y);
                }
                int ci = pad + i * ldc + j;
                double old = c0[ci];
                double want = alpha * sum + (beta == 0 ? 0 : beta * old);
                // float32's bound for a sum of k products, scaled and added to beta c: (k + 2) units in the last
                // place of the magnitudes involved, twice over for kernels that round in another order
                double bound = 2 * (s.k + 2) * 0x1p-24 * (Math.abs(alpha) * abs + Math.abs(beta * old)) + 1e-30;
                float got = c.get(ci);
                if (!(Math.abs(got - want) <= bound)) {
                    return String.format("%s alpha %s beta %s pad %d: c[%d, %d] = %s, expected %s (+- %.2g)", s, alpha,
                            beta, pad, i, j, got, want, bound);
                }
            }
            for (int i = 0; i < cSize; i++) {
                int e = i - pad;
                if ((e < 0 || e >= s.m * ldc || e % ldc >= s.n) && c.get(i) != OUTSIDE) {
                    return s + " pad " + pad + ": wrote outside c, at " + i;
                }
            }
            return null;
        }

        /** The first n values of f, uniform in [-1, 1) (xorshift: a large product's operands fill in milliseconds). */
        private static FloatBuffer random(Random r, FloatBuffer f, int n) {
            long x = r.nextLong() | 1;
            for (int i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >>> 7;
                x ^= x << 17;
                f.put(i, (x >>> 40) * 0x1p-23f - 1f);
            }
            return f;
        }
    }
}
