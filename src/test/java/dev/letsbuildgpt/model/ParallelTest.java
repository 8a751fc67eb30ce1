package dev.letsbuildgpt.model;

import org.junit.jupiter.api.Test;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Work split into parts ({@link Parallel}), and the split prefill of a decoder's window that uses it. */
class ParallelTest {
    @Test
    void everyPartRunsExactlyOnceAndAFailureReachesTheCaller() {
        for (int round = 0; round < 200; round++) {
            AtomicIntegerArray runs = new AtomicIntegerArray(7);
            Parallel.run(7, runs::incrementAndGet);
            for (int p = 0; p < 7; p++) {
                assertEquals(1, runs.get(p), "part " + p + " of round " + round);
            }
        }
        IllegalStateException boom = new IllegalStateException("boom");
        assertSame(boom, assertThrows(IllegalStateException.class, () -> Parallel.run(2, p -> {
            if (p == 1) {
                throw boom;
            }
        })));
        AtomicIntegerArray inner = new AtomicIntegerArray(4);
        Parallel.run(2, p -> Parallel.run(2, q -> inner.incrementAndGet(2 * p + q)));   // nested: runs inline
        for (int i = 0; i < 4; i++) {
            assertEquals(1, inner.get(i));
        }
    }

    private static float[] prefilled(LanguageModel model, int[] tokens) {
        LanguageModel.Decoder d = model.decoder();
        d.prefill(tokens, 0, tokens.length);
        return d.append(3);
    }

    /**
     * The window's products split in two give the unsplit pass's logits (to rounding), and the same bits whether the
     * parts run at once or one after another (on one core, or while another thread's run holds the helpers): decoders
     * in four threads at once, each checked against a prefill done alone.
     */
    @Test
    void aSplitPrefillGivesTheSameBitsHoweverItsPartsRun() throws Exception {
        GptConfig c = new GptConfig(Stage.GPT, 65, 32, 64, 4, 2, 0.0, true, true);
        LanguageModel model = LanguageModel.create(c, 5);
        int[] tokens = new int[31];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = (i * 7 + 3) % 65;
        }
        float[] alone = prefilled(model, tokens);
        int[][] x = {java.util.Arrays.copyOf(tokens, 32)};
        x[0][31] = 3;
        float[] unsplit = new Shards(model, 1, 32, 1, false).logits(x, 31);
        for (int v = 0; v < unsplit.length; v++) {
            assertEquals(unsplit[v], alone[v], 1e-5, "logit " + v);
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<float[]>> runs = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                runs.add(pool.submit(() -> prefilled(model, tokens)));
            }
            for (Future<float[]> r : runs) {
                assertArrayEquals(alone, r.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
