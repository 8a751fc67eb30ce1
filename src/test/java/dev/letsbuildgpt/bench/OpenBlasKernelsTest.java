package dev.letsbuildgpt.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.bytedeco.openblas.global.openblas;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The check `gpt blas` runs on each candidate core type before it may be used: that it passes, and that it can fail. */
class OpenBlasKernelsTest {
    @Test
    void theKernelsThisProcessRunsMultiplyEveryCheckedProductCorrectly() {
        ObjectNode r = OpenBlasKernels.probe(2, false);
        assertTrue(r.get("correct").asBoolean(), r.toString());
        assertTrue(r.get("products").asLong() > 2 * 10_000, r.toString());   // on each of the two threads
    }

    /** A product with a term left out, scaled wrong, or written past its columns is reported. */
    @Test
    void aWrongProductOrAWriteOutsideTheOutputIsCaught() {
        org.nd4j.linalg.factory.Nd4j.create(1);
        Random r = new Random(7);
        for (OpenBlasKernels.Shape s : List.of(new OpenBlasKernels.Shape(false, true, 33, 17, 9),
                new OpenBlasKernels.Shape(true, false, 64, 65, 128))) {
            OpenBlasKernels.Operands ok = operands(r, s);
            ok.multiply(1f, 0f);
            assertNull(ok.verify(r, 1f, 0f, Integer.MAX_VALUE), "the right product passes");

            OpenBlasKernels.Operands scaled = operands(r, s);
            scaled.multiply(1.0001f, 0f);
            assertNotNull(scaled.verify(r, 1f, 0f, Integer.MAX_VALUE), "alpha off by 1e-4");

            OpenBlasKernels.Operands shortSum = operands(r, s);
            multiply(shortSum, s.m(), s.n(), s.k() - 1);
            assertNotNull(shortSum.verify(r, 1f, 0f, Integer.MAX_VALUE), "a sum one term short");

            if (!s.transB()) {   // (b's rows are then as wide as c's: its padding holds the extra column)
                OpenBlasKernels.Operands wide = operands(r, s);
                multiply(wide, s.m(), s.n() + 1, s.k());   // the extra column lands in c's row padding
                String f = wide.verify(r, 1f, 0f, Integer.MAX_VALUE);
                assertNotNull(f);
                assertTrue(f.contains("wrote outside c"), f);
            }
        }
    }

    @Test
    void candidatesFollowTheCpusInstructions() {
        assertEquals(List.of(), OpenBlasKernels.candidates(Set.of("sse2", "avx")));
        assertEquals(List.of("Haswell"), OpenBlasKernels.candidates(Set.of("avx2", "fma")));
        assertEquals(List.of("Haswell", "SkylakeX"), OpenBlasKernels.candidates(Set.of("avx2", "fma", "avx512f",
                "avx512cd", "avx512bw", "avx512dq", "avx512vl")));
        assertEquals(List.of("Haswell", "SkylakeX", "Cooperlake"), OpenBlasKernels.candidates(Set.of("avx2", "fma",
                "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16")));
    }

    private static OpenBlasKernels.Operands operands(Random r, OpenBlasKernels.Shape s) {
        return new OpenBlasKernels.Operands(r, new OpenBlasKernels.Buffers(), s, 3);
    }

    /** The operands' product with other sizes than their shape's (same strides and offsets). */
    private static void multiply(OpenBlasKernels.Operands o, int m, int n, int k) {
        openblas.cblas_sgemm(openblas.CblasRowMajor, o.s.transA() ? openblas.CblasTrans : openblas.CblasNoTrans,
                o.s.transB() ? openblas.CblasTrans : openblas.CblasNoTrans, m, n, k, 1f,
                o.a.duplicate().position(o.pad), o.lda, o.b.duplicate().position(o.pad), o.ldb, 0f,
                o.c.duplicate().position(o.pad), o.ldc);
    }
}
