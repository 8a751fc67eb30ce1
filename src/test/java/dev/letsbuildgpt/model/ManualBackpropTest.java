package dev.letsbuildgpt.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hand-written backward pass against SameDiff's automatic one (both in float32). */
class ManualBackpropTest {
    static final int VOCAB = 11;
    static final int BLOCK = 6;
    static final int BATCH = 4;

    static int[][] tokens(long seed) {
        Random r = new Random(seed);
        int[][] t = new int[BATCH][BLOCK];
        for (int[] row : t) {
            for (int i = 0; i < row.length; i++) {
                row[i] = r.nextInt(VOCAB);
            }
        }
        return t;
    }

    @ParameterizedTest
    @CsvSource({"0.0, true, 1", "0.0, false, 2", "0.3, true, 3", "0.3, true, 2"})
    void lossAndEveryGradientEqualSameDiffs(double dropout, boolean bias, int threads) {
        Gpt model = new Gpt(new GptConfig(Stage.GPT, VOCAB, BLOCK, 12, 3, 2, dropout, bias), 7);
        int[][] x = tokens(1);
        int[][] y = tokens(2);
        ManualBackprop manual = new ManualBackprop(model, BATCH, threads);   // 3 threads: 2, 1 and 1 sequences
        assertEquals(threads, manual.workers());
        GptGraph graph = model.graph(Gpt.Mode.TRAIN, BATCH, BLOCK);
        for (long seed : new long[]{11, 12}) {   // twice: the second pass must not see the first's leftovers
            double loss = manual.lossAndGradients(x, y, seed);
            Map<String, INDArray> masks = manual.lastMasks();   // SameDiff gets the same masks
            assertEquals(dropout > 0 ? 6 : 0, masks.size());
            GptGraph.LossAndGradients expected = graph.lossAndGradients(x, y, masks);
            assertEquals(expected.loss(), loss, 1e-5);
            Map<String, INDArray> grads = manual.gradients();
            assertEquals(new TreeSet<>(expected.gradients().keySet()), new TreeSet<>(grads.keySet()));
            for (var e : expected.gradients().entrySet()) {
                INDArray want = e.getValue();
                INDArray got = grads.get(e.getKey());
                assertTrue(Arrays.equals(want.shape(), got.shape()), e.getKey());
                // float32 rounding differs between the two; a wrong formula is off by far more than 1e-4
                double norm = want.norm2Number().doubleValue();
                double diff = want.sub(got).norm2Number().doubleValue();
                assertTrue(norm > 0, e.getKey() + " has no gradient");
                assertTrue(diff < 1e-4 * norm, e.getKey() + " differs by " + diff / norm + " (relative, dropout "
                        + dropout + ")");
            }
        }
    }

    @Test
    void aSeedDrawsTheSameMasksHoweverTheBatchIsSplit() {
        Gpt model = new Gpt(GptConfig.gpt(VOCAB, BLOCK, 12, 3, 2, 0.3), 3);
        ManualBackprop one = new ManualBackprop(model, BATCH, 1);
        ManualBackprop three = new ManualBackprop(model, BATCH, 3);
        double a = one.lossAndGradients(tokens(4), tokens(5), 9);
        assertEquals(a, three.lossAndGradients(tokens(4), tokens(5), 9), 1e-6);
        Map<String, INDArray> m1 = one.lastMasks();
        Map<String, INDArray> m3 = three.lastMasks();
        m1.forEach((name, m) -> assertEquals(m, m3.get(name), name));
        double kept = m1.values().stream().mapToDouble(m -> m.gt(0).castTo(DataType.FLOAT).meanNumber().doubleValue())
                .average().orElseThrow();
        assertEquals(0.7, kept, 0.05);   // p = 0.3 dropped
        assertFalse(Math.abs(a - one.lossAndGradients(tokens(4), tokens(5), 10)) < 1e-9);   // another seed, other masks
    }

    @Test
    void theLossWithoutDropoutIsTheEvaluationGraphs() {
        Gpt model = new Gpt(GptConfig.gpt(VOCAB, BLOCK, 12, 3, 2, 0.3), 3);
        ManualBackprop manual = new ManualBackprop(model, BATCH, 2);
        GptGraph eval = model.graph(Gpt.Mode.EVAL, BATCH, BLOCK);
        assertEquals(eval.loss(tokens(4), tokens(5)), manual.loss(tokens(4), tokens(5)), 1e-5);
        // and a training step's loss, with dropout, differs from it
        assertFalse(Math.abs(manual.lossAndGradients(tokens(4), tokens(5), 1) - manual.loss(tokens(4), tokens(5))) < 1e-9);
    }

    @Test
    void onlyTheFullGptAndTheRightShapes() {
        Gpt bigram = new Gpt(new GptConfig(Stage.BIGRAM, VOCAB, BLOCK, 0, 0, 0, 0.0, true), 1);
        assertFalse(ManualBackprop.supports(bigram.config()));
        assertThrows(IllegalArgumentException.class, () -> new ManualBackprop(bigram, BATCH));
        Gpt model = new Gpt(GptConfig.gpt(VOCAB, BLOCK, 12, 3, 1, 0.0), 1);
        assertThrows(IllegalArgumentException.class, () -> new ManualBackprop(model, BATCH).loss(new int[2][BLOCK], new int[2][BLOCK]));
        Gpt doubles = new Gpt(GptConfig.gpt(VOCAB, BLOCK, 12, 3, 1, 0.0), 1, DataType.DOUBLE);
        assertThrows(IllegalArgumentException.class, () -> new ManualBackprop(doubles, BATCH));
    }
}
