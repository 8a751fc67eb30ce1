package dev.letsbuildgpt.train;

import dev.letsbuildgpt.model.GptConfig;
import dev.letsbuildgpt.model.Gradients;
import dev.letsbuildgpt.model.LanguageModel;
import dev.letsbuildgpt.model.Parameters;
import dev.letsbuildgpt.model.Stage;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** AdamW's update equals torch.optim.AdamW's formula, written out here in plain doubles. */
class AdamWTest {
    @Test
    void updatesMatchPyTorchsFormulaWithWeightDecayOverManySteps() {
        // A 4 x 4 bigram table: 16 parameters of one tensor.
        Parameters params = LanguageModel.create(new GptConfig(Stage.BIGRAM, 4, 8, 0, 0, 0, 0.0, true), 1).parameters();
        String name = "token_embedding_table.weight";
        int n = 16;
        double lr = 0.05;
        double wd = 0.1;   // large, so that a wrong decay shows: one step of it moves a weight by lr * wd = 0.5%
        AdamW adamw = new AdamW(params, 0.9, 0.999, wd);
        Gradients grads = new Gradients(params);
        double[] p = new double[n];
        float[] start = params.values(name);
        for (int i = 0; i < n; i++) {
            p[i] = start[i];
        }
        double[] m = new double[n];
        double[] v = new double[n];
        Random r = new Random(1);
        for (int step = 0; step < 50; step++) {
            float[] g = new float[n];
            for (int i = 0; i < n; i++) {
                // include tiny gradients, where the placement of epsilon matters
                g[i] = (float) (r.nextGaussian() * (i == 0 ? 1e-9 : 1.0));
            }
            grads.set(name, g);
            double scale = step % 7 == 3 ? 0.25 : 1.0;   // now and then a clipped step
            adamw.step(grads, lr, step, scale);
            int t = step + 1;
            double bc1 = 1 - Math.pow(0.9, t);
            double bc2 = 1 - Math.pow(0.999, t);
            float[] got = params.values(name);
            for (int i = 0; i < n; i++) {
                double gi = g[i] * scale;
                p[i] *= 1 - lr * wd;
                m[i] = 0.9 * m[i] + 0.1 * gi;
                v[i] = 0.999 * v[i] + 0.001 * gi * gi;
                p[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + 1e-8);
                // float32 rounding over 50 steps stays below 1e-5; a decay off by half moves a weight by 2.5e-3 a step
                assertEquals(p[i], got[i], 1e-5 * Math.max(1, Math.abs(p[i])), "step " + step + " i " + i);
            }
        }
    }

    @Test
    void itsStateRoundTripsByParameterName() {
        Parameters params = LanguageModel.create(new GptConfig(Stage.GPT, 7, 4, 8, 2, 1, 0.0, true), 1).parameters();
        AdamW a = new AdamW(params, 0.9, 0.999, 0.01);
        Gradients g = new Gradients(params);
        params.names().forEach(name -> {
            float[] x = new float[params.parameter(name).size()];
            Arrays.fill(x, 0.5f);
            g.set(name, x);
        });
        a.step(g, 1e-3, 0, 1.0);
        Map<String, float[]> state = a.state();
        assertEquals(2 * params.names().size(), state.size());
        assertTrue(state.containsKey("blocks.0.sa.heads.1.value.weight.V"));
        AdamW b = new AdamW(params, 0.9, 0.999, 0.01);
        b.restore(state);
        b.state().forEach((k, x) -> assertTrue(Arrays.equals(x, state.get(k)), k));
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
