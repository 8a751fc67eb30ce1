package dev.letsbuildgpt.train;

import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.TestData;
import dev.letsbuildgpt.data.Dataset;
import dev.letsbuildgpt.data.Batches;
import dev.letsbuildgpt.model.GptConfig;
import dev.letsbuildgpt.model.Graph;
import dev.letsbuildgpt.model.LanguageModel;
import dev.letsbuildgpt.model.Shards;
import dev.letsbuildgpt.model.Stage;
import org.nd4j.linalg.api.buffer.DataType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainerTest {
    static final Dataset DATA = Dataset.of(TestData.shakespeare());

    @TempDir
    Path tmp;

    @Test
    void theBigramPresetReachesTheLecturesLoss() {
        // The lecture's bigram.py: 3000 steps at lr 1e-2 end near 2.49 (PyTorch re-runs: 2.479-2.500).
        RunConfig cfg = RunConfig.preset("bigram").with("eval-interval", "3000").with("eval-iters", "100");
        Metrics.Evaluation last = Trainer.start(cfg, DATA, tmp).run();
        assertEquals(3000, last.step());
        assertEquals(2.49, last.valLoss(), 0.05, "val loss " + last.valLoss());
        assertTrue(Files.isRegularFile(tmp.resolve("loss.png")));
        assertTrue(Files.isRegularFile(tmp.resolve("config.json")));
        assertEquals(2, Metrics.read(tmp).size());  // step 0 and step 3000
    }

    @Test
    void fineTuningStartsFromTheWeightsWithAFreshOptimizerAndItsOwnSettings() {
        RunConfig cfg = RunConfig.preset("multihead").with("max-iters", "40").with("eval-interval", "40")
                .with("eval-iters", "5");
        Trainer.start(cfg, DATA, tmp.resolve("base")).run();
        Checkpoint base = Checkpoint.load(tmp.resolve("base"));
        String text = TestData.shakespeare();
        Dataset narrow = Dataset.of(text.substring(0, 20_000), DATA.tokenizer());
        TrainConfig tuning = base.config().with("learning-rate", "1e-4").with("max-iters", "10")
                .with("eval-interval", "10").with("eval-iters", "5").train();
        Trainer tuner = Trainer.fineTune(base, tuning, narrow, tmp.resolve("tuned"));
        assertEquals(0, tuner.step(), "a new run");
        base.params().forEach((name, w) -> assertArrayEquals(w, tuner.model().parameters().values(name), name));
        tuner.run();
        Checkpoint tuned = Checkpoint.load(tmp.resolve("tuned"));
        assertEquals(10, tuned.step());
        assertEquals(1e-4, tuned.config().train().learningRate());
        assertEquals(base.config().model(), tuned.config().model());
        assertTrue(base.params().entrySet().stream()
                .anyMatch(e -> !Arrays.equals(e.getValue(), tuned.params().get(e.getKey()))), "the weights moved");
        Dataset otherVocabulary = Dataset.of("abc abc abc ".repeat(1000));
        assertThrows(GptException.class, () -> Trainer.fineTune(base, tuning, otherVocabulary, tmp.resolve("x")));
    }

    /**
     * The fast path and SameDiff's graph train a model alike: the same batches from the same start give the same
     * weights, up to float32 rounding, after many steps (with gradient clipping too, and dropout), for a stage with
     * blocks and one without.
     */
    @Test
    void theFastPathTrainsLikeSameDiff() {
        for (String[] c : new String[][]{{"notebook", "0"}, {"notebook", "0.5"}, {"ffwd", "0"}}) {
            RunConfig cfg = RunConfig.preset(c[0]).with("max-iters", "30").with("eval-interval", "30")
                    .with("eval-iters", "4").with("grad-clip", c[1]);
            if (c[0].equals("notebook")) {
                cfg = cfg.with("n-layer", "2").with("n-embd", "32").with("dropout", "0.1");
            }
            Trainer fast = Trainer.start(cfg, DATA, tmp.resolve("fast" + c[0] + c[1]));
            System.setProperty("gpt.backprop", "samediff");
            Trainer sameDiff;
            try {
                sameDiff = Trainer.start(cfg, DATA, tmp.resolve("samediff" + c[0] + c[1]));
            } finally {
                System.clearProperty("gpt.backprop");
            }
            assertEquals("fast", fast.backprop());
            assertEquals("samediff", sameDiff.backprop());
            Metrics.Evaluation a = fast.run();
            Metrics.Evaluation b = sameDiff.run();
            assertEquals(b.valLoss(), a.valLoss(), 1e-3, String.join(" ", c));
            Map<String, float[]> pb = sameDiff.model().parameters().snapshot();
            fast.model().parameters().snapshot().forEach((name, w) -> {
                float[] other = pb.get(name);
                double diff = 0;
                for (int i = 0; i < w.length; i++) {
                    diff = Math.max(diff, Math.abs(w[i] - other[i]));
                }
                assertTrue(diff < 1e-3, name + " differs by " + diff + " (" + String.join(" ", c) + ")");
            });
            assertTrue(a.valLoss() < 3.9, "it trained: " + a.valLoss());   // from ln 65 = 4.17
            assertEquals("samediff", Checkpoint.load(tmp.resolve("samediff" + c[0] + c[1])).trainedBy());
            assertEquals("fast", Checkpoint.load(tmp.resolve("fast" + c[0] + c[1])).trainedBy());
        }
    }

    /**
     * AdamW as the trainer runs it, weight decay included, against PyTorch's formula written out here in doubles,
     * with gradients from SameDiff's graph in double: a strong decay (0.5 at lr 1e-2) so that getting it wrong by
     * any sizeable factor moves the weights far more than float rounding does.
     */
    @Test
    void theTrainersAdamWIsPyTorchsWithItsWeightDecay() {
        RunConfig cfg = RunConfig.preset("ffwd").with("max-iters", "3").with("eval-interval", "3").with("eval-iters", "1")
                .with("weight-decay", "0.5").with("learning-rate", "1e-2").withVocabSize(65);
        Trainer trainer = Trainer.start(cfg, DATA, tmp);
        // The same start and the same batches, stepped by hand.
        LanguageModel ref = LanguageModel.create(cfg.model(), cfg.train().seed());
        Batches batches = new Batches(DATA, cfg.train().batchSize(), cfg.model().blockSize(), cfg.train().seed() + 1);
        Graph graph = ref.graph(Graph.Mode.TRAIN, cfg.train().batchSize(), cfg.model().blockSize(), DataType.DOUBLE);
        Map<String, double[]> p = new java.util.HashMap<>();
        Map<String, double[]> m = new java.util.HashMap<>();
        Map<String, double[]> v = new java.util.HashMap<>();
        ref.parameters().snapshot().forEach((name, w) -> {
            double[] d = new double[w.length];
            for (int i = 0; i < w.length; i++) {
                d[i] = w[i];
            }
            p.put(name, d);
            m.put(name, new double[w.length]);
            v.put(name, new double[w.length]);
        });
        double lr = 1e-2;
        double wd = 0.5;
        batches.next(Dataset.Split.TRAIN);   // the trainer's estimate_loss at step 0 draws one batch of each split first
        batches.next(Dataset.Split.VAL);
        for (int step = 0; step < 3; step++) {
            Batches.Batch b = batches.next(Dataset.Split.TRAIN);
            Map<String, INDArray> grads = graph.lossAndGradients(b.x(), b.y(), 0).gradients();
            int t = step + 1;
            for (String name : p.keySet()) {
                double[] w = p.get(name);
                double[] g = grads.get(name).dup('c').data().asDouble();
                double[] mm = m.get(name);
                double[] vv = v.get(name);
                float[] next = new float[w.length];
                for (int i = 0; i < w.length; i++) {
                    w[i] *= 1 - lr * wd;
                    mm[i] = 0.9 * mm[i] + 0.1 * g[i];
                    vv[i] = 0.999 * vv[i] + 0.001 * g[i] * g[i];
                    w[i] -= lr / (1 - Math.pow(0.9, t)) * mm[i] / (Math.sqrt(vv[i]) / Math.sqrt(1 - Math.pow(0.999, t)) + 1e-8);
                    next[i] = (float) w[i];
                }
                ref.parameters().set(name, next);   // the graph's next gradients at the new weights
            }
        }
        trainer.run();
        p.forEach((name, want) -> {
            float[] got = trainer.model().parameters().values(name);
            double worst = 0;
            for (int i = 0; i < want.length; i++) {
                worst = Math.max(worst, Math.abs(got[i] - want[i]));
            }
            // one decay step at half the rate is off by 2.5e-3 of a weight of size 1
            assertTrue(worst < 5e-5, name + " differs from PyTorch's formula by " + worst);
        });
    }

    @Test
    void aSmallGptOverfitsOneBatch() {
        LanguageModel model = LanguageModel.create(new GptConfig(Stage.GPT, 65, 16, 32, 4, 2, 0.0, true), 1);
        Shards fast = new Shards(model, 4, 16, 2, true);
        AdamW adamw = new AdamW(model.parameters(), 0.9, 0.999, 0.01);
        Random r = new Random(0);
        int[][] x = new int[4][16];
        int[][] y = new int[4][16];
        for (int b = 0; b < 4; b++) {
            for (int i = 0; i < 16; i++) {
                x[b][i] = r.nextInt(65);
                y[b][i] = r.nextInt(65);
            }
        }
        double first = fast.loss(x, y);
        for (int s = 0; s < 300; s++) {
            fast.lossAndGradients(x, y, s);
            adamw.step(fast.gradients(), 3e-3, s, 1.0);
        }
        double last = fast.loss(x, y);
        assertTrue(first > 4.0, "initial loss " + first);
        assertTrue(last < 0.1, "after 300 steps on one batch the loss is " + last);
    }

    /**
     * Dropout on, two evaluation segments: a run stopped after the first and resumed equals one that never stopped,
     * bit for bit: every loss logged, every weight and every moment of the optimizer.
     */
    @Test
    void aResumedRunEqualsAnUninterruptedOneExactly() {
        RunConfig cfg = RunConfig.preset("layernorm").with("dropout", "0.1").with("max-iters", "40")
                .with("eval-interval", "20").with("eval-iters", "4");
        Path whole = tmp.resolve("whole");
        Path parts = tmp.resolve("parts");
        Trainer a = Trainer.start(cfg, DATA, whole);
        a.run();
        Trainer.start(cfg.with("max-iters", "20"), DATA, parts).run();
        Trainer b = Trainer.resume(parts, DATA, 40);
        b.run();
        List<Metrics.Evaluation> ea = Metrics.read(whole);
        List<Metrics.Evaluation> eb = Metrics.read(parts);
        assertEquals(3, ea.size());
        assertEquals(ea.size(), eb.size());
        for (int i = 0; i < ea.size(); i++) {
            assertEquals(ea.get(i).step(), eb.get(i).step());
            assertEquals(ea.get(i).trainLoss(), eb.get(i).trainLoss(), 0.0, "train loss at " + ea.get(i).step());
            assertEquals(ea.get(i).valLoss(), eb.get(i).valLoss(), 0.0, "val loss at " + ea.get(i).step());
        }
        assertEquals(Metrics.readSteps(whole), Metrics.readSteps(parts), "every step's loss");
        assertEquals(40, Metrics.readSteps(parts).size());
        assertExactlyEqual(Checkpoint.load(whole).params(), Checkpoint.load(parts).params());
        assertExactlyEqual(Checkpoint.load(whole).optimizer(), Checkpoint.load(parts).optimizer());
        assertExactlyEqual(a.model().parameters().snapshot(), b.model().parameters().snapshot());
        assertTrue(ea.get(2).valLoss() < ea.get(0).valLoss() - 0.3, "it trained: " + ea);
    }

    /** Bit-equal floats (Arrays.equals compares each float's bits), not equal within a tolerance. */
    static void assertExactlyEqual(Map<String, float[]> a, Map<String, float[]> b) {
        assertEquals(a.keySet(), b.keySet());
        a.forEach((k, v) -> assertTrue(Arrays.equals(v, b.get(k)), k + " differs"));
    }

    @Test
    void checkpointsRoundTripExactly() {
        RunConfig cfg = RunConfig.preset("residual").with("max-iters", "5").with("eval-interval", "5").with("eval-iters", "2");
        Trainer t = Trainer.start(cfg, DATA, tmp);
        t.run();
        Checkpoint ck = Checkpoint.load(tmp);
        assertEquals(5, ck.step());
        assertEquals(DATA.tokenizer(), ck.tokenizer());
        assertEquals(cfg.withVocabSize(65), ck.config());
        assertExactlyEqual(t.model().parameters().snapshot(), ck.params());
        assertEquals(2 * t.model().parameters().names().size(), ck.optimizer().size());
        LanguageModel loaded = ck.model();
        int[][] idx = {DATA.tokenizer().encode("First Ci")};
        assertEquals(t.model().graph(Graph.Mode.INFER, 1, 8).logits(idx), loaded.graph(Graph.Mode.INFER, 1, 8).logits(idx));
    }

    /**
     * In one process too (a notebook): a second trainer on a run directory is refused while the first holds it, and
     * welcome once the first has finished its run.
     */
    @Test
    void aRunDirectoryHasOneTrainerAtATime() {
        RunConfig cfg = RunConfig.preset("bigram").with("max-iters", "5").with("eval-interval", "5").with("eval-iters", "1");
        Trainer first = Trainer.start(cfg, DATA, tmp);
        GptException e = assertThrows(GptException.class, () -> Trainer.start(cfg, DATA, tmp));
        assertTrue(e.getMessage().contains("is being trained by another trainer in this process"), e.getMessage());
        first.run();
        Trainer second = Trainer.resume(tmp, DATA, 8);
        assertEquals(8, second.run().step());
    }

    /** Each training step's loss reaches metrics.jsonl (and the loss plot), besides the evaluations. */
    @Test
    void everyStepsLossIsLogged() {
        RunConfig cfg = RunConfig.preset("bigram").with("max-iters", "30").with("eval-interval", "10").with("eval-iters", "2");
        List<Double> shown = new java.util.ArrayList<>();
        Trainer.start(cfg, DATA, tmp).run(new Progress() {
            public void step(int step, double loss, double tokensPerSec) {
                shown.add(loss);
            }

            public void evaluation(Metrics.Evaluation e) {
            }

            public void message(String line) {
            }

            public void close() {
            }
        });
        List<Metrics.StepLoss> steps = Metrics.readSteps(tmp);
        assertEquals(30, steps.size());
        assertEquals(4, Metrics.read(tmp).size());
        for (int i = 0; i < 30; i++) {
            assertEquals(i, steps.get(i).step());
            assertEquals(shown.get(i), steps.get(i).loss(), 0.0);
        }
        assertTrue(steps.get(0).loss() > 4.0 && steps.get(29).loss() < steps.get(0).loss(), steps.toString());
    }

    @Test
    void sameSeedSameLosses() {
        RunConfig cfg = RunConfig.preset("ffwd").with("max-iters", "30").with("eval-interval", "30").with("eval-iters", "3");
        double a = Trainer.start(cfg, DATA, tmp.resolve("a")).run().valLoss();
        double b = Trainer.start(cfg, DATA, tmp.resolve("b")).run().valLoss();
        double c = Trainer.start(cfg.with("seed", "7"), DATA, tmp.resolve("c")).run().valLoss();
        assertEquals(a, b, 0.0);
        assertTrue(a != c);
    }

    @Test
    void gradientClippingAndTheCosineScheduleTrain() {
        RunConfig cfg = RunConfig.preset("head").with("max-iters", "60").with("eval-interval", "60").with("eval-iters", "5")
                .with("grad-clip", "1.0").with("warmup-iters", "10").with("decay-lr", "true");
        Metrics.Evaluation last = Trainer.start(cfg, DATA, tmp).run();
        List<Metrics.Evaluation> all = Metrics.read(tmp);
        assertTrue(last.valLoss() < all.get(0).valLoss() - 0.3, "trained: " + all);
        assertEquals(cfg.train().minLr(), last.learningRate(), 1e-12);
    }
}
