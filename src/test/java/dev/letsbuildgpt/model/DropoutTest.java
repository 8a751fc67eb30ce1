package dev.letsbuildgpt.model;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Dropout draws its masks from SplitMix64 written out (the k-th value computed directly, so that a causal mask can
 * draw only the weights a position sees). These pin it to what it replaced: {@code new SplittableRandom(stream)}'s
 * {@code nextDouble() >= p}, value after value, which the checkpoints of earlier runs and the losses in the docs
 * were drawn with.
 */
class DropoutTest {
    @Test
    void masksAreSplittableRandomsNextDoubleAgainstP() {
        for (double p : new double[]{0.0, 0.1, 0.2, 0.5, 0.9, 1 - 0x1p-53}) {
            Dropout d = new Dropout("blocks.0.sa.heads.1.dropout", p);
            for (long seed : new long[]{0, 1, 1337, -7, Long.MAX_VALUE}) {
                int batch = 3, per = 5000;
                float[] mask = d.mask(seed, batch, per);
                for (int b = 0; b < batch; b++) {
                    SplittableRandom r = new SplittableRandom(d.stream(seed, b));
                    for (int i = 0; i < per; i++) {
                        float want = r.nextDouble() >= p ? d.keepScale : 0f;
                        assertEquals(want, mask[b * per + i], "p " + p + ", seed " + seed + ", value " + i);
                    }
                }
            }
        }
    }

    @Test
    void aCausalMaskDrawsWhatTheFullOneDrawsAtOrBelowTheDiagonalAndDropsTheRest() {
        int t = 17, batch = 3;
        Dropout d = new Dropout("blocks.2.sa.heads.0.dropout", 0.2);
        Shard s = new Shard(new Parameters(1), 2, t, 1, false);   // sequences 1 and 2 of the batch
        s.mode(true, 42);
        Dropout.Pass causal = d.causalPass(s, t);
        causal.draw();
        float[] full = d.mask(42, batch, t * t);
        float[] factors = new float[2 * t * t];
        java.util.Arrays.fill(factors, 1f);
        causal.apply(factors, 0, 0, factors.length);   // ones times the mask: its factors
        for (int b = 0; b < 2; b++) {
            for (int row = 0; row < t; row++) {
                for (int col = 0; col < t; col++) {
                    int i = (b * t + row) * t + col;
                    float want = col <= row ? full[(b + 1) * t * t + row * t + col] : 0f;
                    assertEquals(want, factors[i], "sequence " + b + ", row " + row + ", column " + col);
                }
            }
        }
    }
}
