package dev.letsbuildgpt.model;

import org.bytedeco.openblas.global.openblas;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Single-precision matrix products on row-major Java arrays, through the OpenBLAS that ND4J ships and loads.
 *
 * <p>Two forms, for two costs measured here: Java arrays are copied in and out by JNI on every call, which adds
 * 10-15 % to a product of whole arrays at this project's smaller sizes (docs/BENCHMARKS.md); many small products on
 * parts of a big matrix (attention's per-head products) would copy the whole matrix each time, so they work on
 * direct buffers, which BLAS reads in place, at an offset.
 */
final class Sgemm {
    private Sgemm() {
    }

    /** c = alpha op(a) op(b) + beta c, with op(a) [m, k], op(b) [k, n], c [m, n]; whole arrays. */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, float[] b,
                     float beta, float[] c) {
        openblas.cblas_sgemm(openblas.CblasRowMajor, transA ? openblas.CblasTrans : openblas.CblasNoTrans,
                transB ? openblas.CblasTrans : openblas.CblasNoTrans, m, n, k, alpha, a, transA ? m : k, b,
                transB ? k : n, beta, c, n);
    }

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
