package dev.letsbuildgpt.data;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RngTest {
    /** The batches of earlier versions came from java.util.Random: the same seed must give the same draws. */
    @Test
    void drawsWhatJavaUtilRandomDraws() {
        for (long seed : new long[]{0, 1, 1338, -5, Long.MAX_VALUE}) {
            Random want = new Random(seed);
            Rng got = new Rng(seed);
            for (int i = 0; i < 20_000; i++) {
                int bound = i % 3 == 0 ? 1 << (i % 20) : 1 + (i * 7919) % 1_000_003;   // powers of two and others
                assertEquals(want.nextInt(bound), got.nextInt(bound), "seed " + seed + " draw " + i);
            }
        }
    }

    @Test
    void itsStateIsOneNumberThatContinuesTheStream() {
        Rng a = new Rng(42);
        a.nextInt(100);
        long state = a.state();
        int next = a.nextInt(1000);
        assertEquals(next, Rng.fromState(state).nextInt(1000));
        assertThrows(IllegalArgumentException.class, () -> Rng.fromState(-1));
        assertThrows(IllegalArgumentException.class, () -> Rng.fromState(1L << 48));
    }
}
