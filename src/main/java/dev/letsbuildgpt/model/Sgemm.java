package dev.letsbuildgpt.model;

import org.bytedeco.openblas.global.openblas;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Single-precision matrix products on row-major Java arrays, through the OpenBLAS that ND4J ships and loads.
 *
 * <p>BLAS reads native memory. Handed a Java array, JNI copies the whole array to native memory before the call and
 * back after it, for every operand, read or written: in a profile of training (async-profiler, configs A and B) that
 * copying was a tenth of all the threads' time. So the products on whole arrays go through direct buffers instead:
 * the operands are copied in once (the inputs; the output only when it is added to), the result copied out once,
 * through buffers each thread keeps ({@link Staging}); a weight is read from its own direct copy, which
 * {@link Parameters#direct} refreshes only when the weights have changed. Many small products on parts of a big
 * matrix (attention's per-head products) work on direct buffers throughout, which BLAS reads in place, at an
 * offset. Where a product's operand or result is already in native memory, or is wanted there next, it stays there:
 * a layer's dy is copied in once for its two backward products ({@link #stage}); attention's q/k/v product is written
 * into the buffer the heads' products read, and the projections around attention read and write the heads' buffers.
 * Copies still took 14-17 % of the cpu preset's training threads' time after that (async-profiler): what Java reads
 * or writes (LayerNorm, ReLU, the residual stream, softmax) has to come out of native memory and go back.
 */
final class Sgemm {
    private Sgemm() {
    }

    /** c = alpha op(a) op(b) + beta c, with op(a) [m, k], op(b) [k, n], c [m, n]; whole arrays. */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, float[] b,
                     float beta, float[] c) {
        Staging s = STAGING.get();
        gemm(transA, transB, m, n, k, alpha, a, s.in(s.b, b, k * n), beta, c);
    }

    /** The same with b already in a direct buffer (a weight's direct copy: {@link Parameters#direct}). */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, FloatBuffer b,
                     float beta, float[] c) {
        Staging s = STAGING.get();
        staged(s, transA, transB, m, n, k, alpha, a, b, beta, s.output(beta, c, m * n), c);
    }

    /**
     * The first n values of an array in a direct buffer of the thread's, for several products to read (a layer's dy,
     * which both of its backward products take): it stays there until the thread's next call of this.
     */
    static FloatBuffer stage(float[] a, int n) {
        Staging s = STAGING.get();
        return s.in(s.d, a, n);
    }

    /** c = alpha op(a) op(b) + beta c, a already in a direct buffer (from {@link #stage}), b a whole array. */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, FloatBuffer a, float[] b,
                     float beta, float[] c) {
        Staging s = STAGING.get();
        staged(s, transA, transB, m, n, k, alpha, a, s.in(s.b, b, k * n), beta,
                s.output(beta, c, m * n), c);
    }

    /** The same with both a and b in direct buffers. */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, FloatBuffer a, FloatBuffer b,
                     float beta, float[] c) {
        Staging s = STAGING.get();
        staged(s, transA, transB, m, n, k, alpha, a, b, beta, s.output(beta, c, m * n), c);
    }

    /**
     * c [m, n] = bias + a [m, k] op(b), the bias [n] (at {@code biasAt} in its array) on every row: c's buffer is filled
     * with rows of the bias, and BLAS adds the product to it (beta 1), instead of a pass of Java over c after.
     */
    static void gemmOnRows(boolean transB, int m, int n, int k, float[] a, FloatBuffer b, float[] bias, int biasAt,
                           float[] c) {
        gemmOnRows(transB, m, n, k, a, b, bias, biasAt, STAGING.get().out(m * n), c);
    }

    /**
     * The same into a given direct buffer cD [m, n] as well as c (none when null), for the next products to read
     * there (attention's queries, keys and values); without a bias (null), c = a op(b).
     */
    static void gemmOnRows(boolean transB, int m, int n, int k, float[] a, FloatBuffer b, float[] bias, int biasAt,
                           FloatBuffer cD, float[] c) {
        onRows(bias, biasAt, m, n, cD);
        staged(STAGING.get(), false, transB, m, n, k, 1f, a, b, bias == null ? 0f : 1f, cD, c);
    }

    /** c [m, n] = bias + a [m, k] op(b) as above, a in a direct buffer already (at 0). */
    static void gemmOnRows(boolean transB, int m, int n, int k, FloatBuffer aD, FloatBuffer b, float[] bias,
                           int biasAt, float[] c) {
        Staging s = STAGING.get();
        FloatBuffer cD = s.out(m * n);
        onRows(bias, biasAt, m, n, cD);
        staged(s, false, transB, m, n, k, 1f, aD, b, bias == null ? 0f : 1f, cD, c);
    }

    /** cD [m, n] filled with rows of the bias, for BLAS to add a product to (nothing without a bias). */
    private static void onRows(float[] bias, int biasAt, int m, int n, FloatBuffer cD) {
        if (bias != null) {
            for (int r = 0; r < m; r++) {
                cD.put(r * n, bias, biasAt, n);
            }
        }
    }

    /** a into its staging buffer, the product into cD (which holds what beta scales), and cD out into c (if any). */
    private static void staged(Staging s, boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a,
                               FloatBuffer b, float beta, FloatBuffer cD, float[] c) {
        staged(s, transA, transB, m, n, k, alpha, s.in(s.a, a, m * k), b, beta, cD, c);
    }

    /** The same with a in a direct buffer already. */
    private static void staged(Staging s, boolean transA, boolean transB, int m, int n, int k, float alpha,
                               FloatBuffer aD, FloatBuffer b, float beta, FloatBuffer cD, float[] c) {
        openblas.cblas_sgemm(openblas.CblasRowMajor, transA ? openblas.CblasTrans : openblas.CblasNoTrans,
                transB ? openblas.CblasTrans : openblas.CblasNoTrans, m, n, k, alpha, at(aD, 0), transA ? m : k, at(b, 0),
                transB ? k : n, beta, at(cD, 0), n);   // JavaCPP passes a buffer's address at its position
        if (c != null) {
            cD.get(0, c, 0, m * n);   // absolute: cD may be a buffer left at another position
        }
    }

    /**
     * A thread's direct buffers for the operands of {@link #gemm(boolean, boolean, int, int, int, float, float[],
     * float[], float, float[])}, grown to the largest product the thread has run and then kept.
     */
    private static final class Staging {
        final FloatBuffer[] a = new FloatBuffer[1];
        final FloatBuffer[] b = new FloatBuffer[1];
        final FloatBuffer[] c = new FloatBuffer[1];
        final FloatBuffer[] d = new FloatBuffer[1];   // for {@link #stage}

        /** The first n values of {@code from} in the buffer of {@code slot}, positioned at 0. */
        FloatBuffer in(FloatBuffer[] slot, float[] from, int n) {
            FloatBuffer d = of(slot, n);
            d.put(from, 0, n);
            return d.position(0);
        }

        /** The output's buffer: c's first n values copied in when beta scales them, else as it is. */
        FloatBuffer output(float beta, float[] c, int n) {
            return beta == 0f ? out(n) : in(this.c, c, n);
        }

        /** The output's buffer, its old values not needed. */
        FloatBuffer out(int n) {
            return of(c, n);
        }

        private static FloatBuffer of(FloatBuffer[] slot, int n) {
            if (slot[0] == null || slot[0].capacity() < n) {
                slot[0] = direct(n);
            }
            return slot[0].position(0);
        }
    }

    private static final ThreadLocal<Staging> STAGING = ThreadLocal.withInitial(Staging::new);

    /**
     * The same on parts of direct buffers: a at offset aOff with row stride lda, and so on (strides as stored, before
     * any transpose).
     */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, FloatBuffer a, int aOff,
                     int lda, FloatBuffer b, int bOff, int ldb, float beta, FloatBuffer c, int cOff, int ldc) {
        openblas.cblas_sgemm(openblas.CblasRowMajor, transA ? openblas.CblasTrans : openblas.CblasNoTrans,
                transB ? openblas.CblasTrans : openblas.CblasNoTrans, m, n, k, alpha, at(a, aOff), lda,
                at(b, bOff), ldb, beta, at(c, cOff), ldc);
    }

    /** Work on rows r0..r1-1 of a window's pass (see {@link Shard#inRowRanges}). */
    interface Rows {
        void apply(int r0, int r1);
    }

    /**
     * Rows r0..r1-1 of c [m, n] = a [m, k] op(b): those rows of a are copied into aD, multiplied by b (a direct
     * buffer: every operand of one call must be), and copied from cD into c.
     */
    static void gemmRows(int r0, int r1, boolean transB, int n, int k, float[] a, FloatBuffer b, float[] c,
                         FloatBuffer aD, FloatBuffer cD) {
        FloatBuffer ap = aD.duplicate();
        ap.position(r0 * k);
        ap.put(a, r0 * k, (r1 - r0) * k);
        openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans,
                transB ? openblas.CblasTrans : openblas.CblasNoTrans, r1 - r0, n, k, 1f, at(aD, r0 * k), k,
                at(b, 0), transB ? k : n, 0f, at(cD, r0 * n), n);
        FloatBuffer cp = cD.duplicate();
        cp.position(r0 * n);
        cp.get(c, r0 * n, (r1 - r0) * n);
    }

    /** A view of the buffer starting at an offset (its own position: a and b may be the same buffer). */
    private static FloatBuffer at(FloatBuffer buffer, int offset) {
        return buffer.duplicate().position(offset);
    }

    /**
     * A direct buffer starting on a cache line (64 bytes): when two threads write column ranges of one matrix whose
     * widths are multiples of 16 floats (a decoder's window split by heads), no line then holds both threads' values.
     */
    static FloatBuffer direct(long floats) {
        int bytes = Math.toIntExact(floats * Float.BYTES);
        int lines = Math.toIntExact((bytes + 63L) / 64 * 64);   // alignedSlice ends on a line too
        return ByteBuffer.allocateDirect(lines + 63).alignedSlice(64).limit(bytes).order(ByteOrder.nativeOrder())
                .asFloatBuffer();
    }

    /** Copies a whole array into a direct buffer. */
    static void put(float[] from, FloatBuffer to) {
        to.position(0);
        to.put(from);
    }

    /** Copies a direct buffer's first {@code to.length} values into an array. */
    static void get(FloatBuffer from, float[] to) {
        from.position(0);
        from.get(to);
    }
}
