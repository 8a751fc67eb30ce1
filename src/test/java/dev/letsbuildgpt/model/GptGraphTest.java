package dev.letsbuildgpt.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The SameDiff graph against an independent forward pass, finite differences, and causality. */
class GptGraphTest {
    static final int VOCAB = 11;
    static final int BLOCK = 6;

    /** A small but complete model: two layers, two heads, every kind of parameter. */
    static GptConfig small(Stage stage) {
        return new GptConfig(stage, VOCAB, BLOCK, 8, 2, 2, 0.0, true);
    }

    static int[][] randomTokens(Random r, int b, int t) {
        int[][] x = new int[b][t];
        for (int[] row : x) {
            for (int i = 0; i < t; i++) {
                row[i] = r.nextInt(VOCAB);
            }
        }
        return x;
    }

    @Test
    void logitsEqualAnIndependentPlainJavaForwardPass() {
        Gpt model = new Gpt(small(Stage.GPT), 7, DataType.DOUBLE);
        int[][] idx = randomTokens(new Random(1), 3, BLOCK);
        INDArray logits = model.graph(Gpt.Mode.INFER, 3, BLOCK).logits(idx);
        ReferenceForward ref = new ReferenceForward(model);
        for (int b = 0; b < 3; b++) {
            double[][] expected = ref.logits(idx[b]);
            for (int t = 0; t < BLOCK; t++) {
                for (int v = 0; v < VOCAB; v++) {
                    assertEquals(expected[t][v], logits.getDouble(b, t, v), 1e-10, "b=" + b + " t=" + t + " v=" + v);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Stage.class)
    void gradientsMatchCentralFiniteDifferences(Stage stage) {
        Gpt model = new Gpt(small(stage), 3, DataType.DOUBLE);
        Random r = new Random(2);
        int[][] x = randomTokens(r, 2, BLOCK);
        int[][] y = randomTokens(r, 2, BLOCK);
        GptGraph train = model.graph(Gpt.Mode.TRAIN, 2, BLOCK);
        GptGraph eval = model.graph(Gpt.Mode.EVAL, 2, BLOCK);
        Map<String, INDArray> grads = train.lossAndGradients(x, y, 0).gradients();
        double h = 1e-6;
        int checked = 0;
        for (Map.Entry<String, INDArray> e : model.parameters().asMap().entrySet()) {
            INDArray p = e.getValue().reshape(e.getValue().length());  // a view: writes go to the parameter
            INDArray g = grads.get(e.getKey()).reshape(p.length());
            // A handful of entries per parameter, always including the first and the last.
            for (long i : new long[]{0, p.length() / 3, p.length() / 2, p.length() - 1}) {
                double old = p.getDouble(i);
                p.putScalar(i, old + h);
                double plus = eval.loss(x, y);
                p.putScalar(i, old - h);
                double minus = eval.loss(x, y);
                p.putScalar(i, old);
                double numeric = (plus - minus) / (2 * h);
                double analytic = g.getDouble(i);
                double err = Math.abs(numeric - analytic) / Math.max(1e-8, Math.abs(numeric) + Math.abs(analytic));
                assertTrue(err < 1e-5 || Math.abs(numeric - analytic) < 1e-9,
                        e.getKey() + "[" + i + "]: analytic " + analytic + " numeric " + numeric);
                checked++;
            }
        }
        assertTrue(checked >= 4 * model.parameters().names().size());
    }

    @ParameterizedTest
    @EnumSource(Stage.class)
    void laterTokensDoNotChangeEarlierLogits(Stage stage) {
        Gpt model = new Gpt(small(stage), 5, DataType.DOUBLE);
        GptGraph g = model.graph(Gpt.Mode.INFER, 1, BLOCK);
        Random r = new Random(3);
        int[][] a = randomTokens(r, 1, BLOCK);
        for (int t = 0; t < BLOCK - 1; t++) {
            int[][] b = {a[0].clone()};
            for (int u = t + 1; u < BLOCK; u++) {
                b[0][u] = (a[0][u] + 1 + r.nextInt(VOCAB - 1)) % VOCAB;  // a different token after t
            }
            INDArray la = g.logits(a);
            INDArray lb = g.logits(b);
            for (int u = 0; u <= t; u++) {
                for (int v = 0; v < VOCAB; v++) {
                    assertEquals(la.getDouble(0, u, v), lb.getDouble(0, u, v), 1e-12, "t=" + t + " u=" + u);
                }
            }
            // ...while the last position does see the change (the test could not pass by ignoring the input).
            assertTrue(Math.abs(la.getDouble(0, BLOCK - 1, 0) - lb.getDouble(0, BLOCK - 1, 0)) > 1e-9);
        }
    }

    @Test
    void initialLossIsCloseToLnVocab() {
        Gpt model = new Gpt(GptConfig.gpt(65, 32, 64, 4, 4, 0.0), 1337);
        Random r = new Random(4);
        int[][] x = new int[16][32];
        int[][] y = new int[16][32];
        for (int b = 0; b < 16; b++) {
            for (int t = 0; t < 32; t++) {
                x[b][t] = r.nextInt(65);
                y[b][t] = r.nextInt(65);
            }
        }
        double loss = model.graph(Gpt.Mode.EVAL, 16, 32).loss(x, y);
        assertEquals(Math.log(65), loss, 0.35, "initial loss " + loss);
    }

    @Test
    void dropoutActsOnlyInTrainingAndItsMasksFollowTheSeed() {
        Gpt model = new Gpt(small(Stage.GPT).withDropout(0.5), 11, DataType.DOUBLE);
        Random r = new Random(6);
        int[][] x = randomTokens(r, 2, BLOCK);
        int[][] y = randomTokens(r, 2, BLOCK);
        GptGraph train = model.graph(Gpt.Mode.TRAIN, 2, BLOCK);
        GptGraph eval = model.graph(Gpt.Mode.EVAL, 2, BLOCK);
        double a = train.lossAndGradients(x, y, 1).loss();
        assertEquals(a, train.lossAndGradients(x, y, 1).loss(), 0.0, "same seed, same masks");
        assertTrue(Math.abs(a - train.lossAndGradients(x, y, 2).loss()) > 1e-6, "another seed, other masks");
        assertTrue(Math.abs(a - eval.loss(x, y)) > 1e-6, "training drops, evaluation does not");
        assertEquals(eval.loss(x, y), eval.loss(x, y), 0.0);
        Gpt noDropout = new Gpt(small(Stage.GPT), 11, DataType.DOUBLE);
        assertEquals(noDropout.graph(Gpt.Mode.EVAL, 2, BLOCK).loss(x, y), eval.loss(x, y), 1e-12,
                "evaluation with dropout configured is the plain model");
        // As in gpt.py: dropout on the attention weights (one [B, H, T, T] mask for all heads), after the
        // attention projection and after the feed-forward, in each of the 2 layers.
        assertEquals(3 * 2, train.featureNames().length - 1);
    }

    @Test
    void graphsShareTheParameterArrays() {
        Gpt model = new Gpt(small(Stage.GPT), 9, DataType.DOUBLE);
        GptGraph g = model.graph(Gpt.Mode.INFER, 1, BLOCK);
        int[][] idx = randomTokens(new Random(5), 1, BLOCK);
        double before = g.logits(idx).getDouble(0, 0, 0);
        model.parameters().get("lm_head.bias").addi(1.0);
        assertEquals(before + 1.0, g.logits(idx).getDouble(0, 0, 0), 1e-12);
    }

    @Test
    void anEvaluationGraphGivesLogitsAndAttentionWeightsWithoutTargets() {
        Gpt model = new Gpt(small(Stage.GPT), 9, DataType.DOUBLE);
        int[][] idx = randomTokens(new Random(8), 2, BLOCK);
        GptGraph eval = model.graph(Gpt.Mode.EVAL, 2, BLOCK);
        assertEquals(model.graph(Gpt.Mode.INFER, 2, BLOCK).logits(idx), eval.logits(idx));
        INDArray wei = eval.outputs(idx, "blocks.0.sa.wei").get("blocks.0.sa.wei");
        assertArrayEquals(new long[]{2, small(Stage.GPT).nHead(), BLOCK, BLOCK}, wei.shape());
    }
}
