package dev.letsbuildgpt.train;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** AdamW's update equals torch.optim.AdamW's formula, written out here in plain doubles. */
class AdamWTest {
    @Test
    void updatesMatchPyTorchsFormulaOverManySteps() {
        TrainConfig cfg = TrainConfig.lecture(4, 100, 10, 1e-3);
        int n = 7;
        GradientUpdater<?> u = new AdamW(cfg).instantiate(Nd4j.zeros(DataType.DOUBLE, 1, 2 * n), true);
        double[] m = new double[n];
        double[] v = new double[n];
        Random r = new Random(1);
        for (int step = 0; step < 50; step++) {
            double[] g = new double[n];
            for (int i = 0; i < n; i++) {
                // include tiny gradients, where the placement of epsilon matters
                g[i] = r.nextGaussian() * (i == 0 ? 1e-9 : 1.0);
            }
            INDArray grad = Nd4j.createFromArray(g);
            u.applyUpdater(grad, step, 0);
            int t = step + 1;
            double bc1 = 1 - Math.pow(0.9, t);
            double bc2 = 1 - Math.pow(0.999, t);
            for (int i = 0; i < n; i++) {
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                double expected = 1e-3 / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + 1e-8);
                assertEquals(expected, grad.getDouble(i), 1e-12 + 1e-9 * Math.abs(expected), "step " + step + " i " + i);
            }
        }
    }

    @Test
    void learningRateScheduleWarmsUpThenDecaysToTheFloor() {
        TrainConfig c = RunConfig.preset("cpu").with("warmup-iters", "100").with("decay-lr", "true")
                .with("min-lr", "1e-4").train();
        assertEquals(1e-3 / 101, c.learningRateAt(0), 1e-15);
        assertEquals(1e-3, c.learningRateAt(100), 1e-12);
        assertEquals((1e-3 + 1e-4) / 2, c.learningRateAt(1050), 1e-6);
        assertEquals(1e-4, c.learningRateAt(2000), 1e-12);
        assertEquals(1e-3, RunConfig.preset("cpu").train().learningRateAt(1999), 0.0);  // the lecture: constant
    }
}
