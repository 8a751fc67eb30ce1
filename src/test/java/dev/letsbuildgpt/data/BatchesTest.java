package dev.letsbuildgpt.data;

import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.TestData;
import dev.letsbuildgpt.data.Dataset.Split;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BatchesTest {
    static final Dataset DATA = Dataset.of(TestData.shakespeare());

    @Test
    void splitIsNinetyTenInOrder() {
        int n = TestData.shakespeare().length();
        assertEquals((int) (0.9 * n), DATA.tokens(Split.TRAIN).length);
        assertEquals(n - (int) (0.9 * n), DATA.tokens(Split.VAL).length);
        assertEquals(DATA.tokenizer().encode("First Citizen")[0], DATA.tokens(Split.TRAIN)[0]);
    }

    @Test
    void targetsAreTheInputsShiftedByOneAndWindowsComeFromTheSplit() {
        Batches b = new Batches(DATA, 4, 8, 1);
        Batches.Batch batch = b.next(Split.VAL);
        assertEquals(4, batch.batchSize());
        assertEquals(8, batch.blockSize());
        String val = DATA.tokenizer().decode(DATA.tokens(Split.VAL));
        for (int i = 0; i < 4; i++) {
            for (int t = 0; t < 7; t++) {
                assertEquals(batch.x()[i][t + 1], batch.y()[i][t]);
            }
            String window = DATA.tokenizer().decode(batch.x()[i]) + DATA.tokenizer().decode(new int[]{batch.y()[i][7]});
            assertTrue(val.contains(window));
        }
    }

    @Test
    void theSameSeedGivesTheSameBatchesAndTheStateResumesTheStream() {
        Batches a = new Batches(DATA, 4, 8, 42);
        Batches b = new Batches(DATA, 4, 8, 42);
        assertArrayEquals(a.next(Split.TRAIN).x(), b.next(Split.TRAIN).x());
        long state = a.state();
        int[][] next = a.next(Split.TRAIN).x();
        Batches c = new Batches(DATA, 4, 8, 7);
        c.restore(state);
        assertArrayEquals(next, c.next(Split.TRAIN).x());
        assertFalse(java.util.Arrays.deepEquals(next, new Batches(DATA, 4, 8, 7).next(Split.TRAIN).x()));
    }

    @Test
    void aBlockLargerThanTheDataIsAClearError() {
        Dataset tiny = Dataset.of("abcdefghijklmnopqrstuvwxyz");
        GptException e = assertThrows(GptException.class, () -> new Batches(tiny, 2, 8, 1));
        assertTrue(e.getMessage().contains("block size 8 is too large"), e.getMessage());
    }
}
