package dev.letsbuildgpt.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every stage's model, whole: its SameDiff graph against finite differences, an independent forward pass and
 * causality; its fast path against the graph (loss and every gradient, with dropout too); its decoder against the
 * fast forward pass at every position.
 */
class LanguageModelTest {
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
    void theGraphsLogitsEqualAnIndependentPlainJavaForwardPass() {
        LanguageModel model = LanguageModel.create(small(Stage.GPT), 7);
        int[][] idx = randomTokens(new Random(1), 3, BLOCK);
        INDArray logits = model.graph(Graph.Mode.INFER, 3, BLOCK, DataType.DOUBLE).logits(idx);
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

    /** SameDiff's automatic gradients, in double, against central finite differences of the loss. */
    @ParameterizedTest
    @EnumSource(Stage.class)
    void theGraphsGradientsMatchCentralFiniteDifferences(Stage stage) {
        LanguageModel model = LanguageModel.create(small(stage), 3);
        Random r = new Random(2);
        int[][] x = randomTokens(r, 2, BLOCK);
        int[][] y = randomTokens(r, 2, BLOCK);
        Graph train = model.graph(Graph.Mode.TRAIN, 2, BLOCK, DataType.DOUBLE);
        Graph eval = model.graph(Graph.Mode.EVAL, 2, BLOCK, DataType.DOUBLE);
        Map<String, INDArray> grads = train.lossAndGradients(x, y, 0).gradients();
        double h = 1e-6;
        int checked = 0;
        for (String name : model.parameters().names()) {
            INDArray p = eval.variable(name).reshape(eval.variable(name).length());   // a view: writes reach the graph
            INDArray g = grads.get(name).reshape(p.length());
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
                        name + "[" + i + "]: analytic " + analytic + " numeric " + numeric);
                checked++;
            }
        }
        assertTrue(checked >= 4 * model.parameters().names().size());
    }

    @ParameterizedTest
    @EnumSource(Stage.class)
    void laterTokensDoNotChangeEarlierLogits(Stage stage) {
        LanguageModel model = LanguageModel.create(small(stage), 5);
        Graph g = model.graph(Graph.Mode.INFER, 1, BLOCK, DataType.DOUBLE);
        Shards fast = new Shards(model, 1, BLOCK, 1, false);
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
                float[] fa = fast.logits(a, u);
                float[] fb = fast.logits(b, u);
                for (int v = 0; v < VOCAB; v++) {
                    assertEquals(la.getDouble(0, u, v), lb.getDouble(0, u, v), 1e-12, "graph t=" + t + " u=" + u);
                    assertEquals(fa[v], fb[v], 0f, "fast path t=" + t + " u=" + u);
                }
            }
            // ...while the last position does see the change (the test could not pass by ignoring the input).
            if (stage != Stage.BIGRAM) {
                assertTrue(Math.abs(la.getDouble(0, BLOCK - 1, 0) - lb.getDouble(0, BLOCK - 1, 0)) > 1e-9);
            }
        }
    }

    /**
     * The fast path computes what the graph computes: the loss and every parameter's gradient, for every stage, with
     * dropout where the stage has it (the same masks from the same seed), split into shards or not.
     */
    @ParameterizedTest
    @EnumSource(Stage.class)
    void theFastPathsLossAndGradientsEqualSameDiffs(Stage stage) {
        double dropout = stage.usesBlocks() ? 0.3 : 0.0;
        LanguageModel model = LanguageModel.create(small(stage).withDropout(dropout), 13);
        Random r = new Random(4);
        int[][] x = randomTokens(r, 4, BLOCK);
        int[][] y = randomTokens(r, 4, BLOCK);
        Graph.LossAndGradients want = model.graph(Graph.Mode.TRAIN, 4, BLOCK, DataType.DOUBLE).lossAndGradients(x, y, 21);
        for (int shards : new int[]{1, 3}) {
            Shards fast = new Shards(model, 4, BLOCK, shards, true);
            for (int twice = 0; twice < 2; twice++) {
                assertEquals(want.loss(), fast.lossAndGradients(x, y, 21), 1e-5, stage + " loss");
                for (String name : model.parameters().names()) {
                    ModuleTest.assertClose(want.gradients().get(name), fast.gradients().named(name),
                            stage + " " + shards + " shards: d " + name);
                }
            }
            if (dropout > 0) {
                assertTrue(Math.abs(fast.loss(x, y) - want.loss()) > 1e-4, "evaluation drops nothing");
            }
        }
    }

    /** The decoder, one position at a time with its caches, gives the fast forward pass's logits at every position. */
    @ParameterizedTest
    @EnumSource(Stage.class)
    void theDecoderGivesTheForwardPassesLogitsAtEveryPosition(Stage stage) {
        LanguageModel model = LanguageModel.create(new GptConfig(stage, VOCAB, 7, 12, 3, 2, 0.0, true), 5);
        int[][] tokens = randomTokens(new Random(stage.ordinal()), 1, 7);
        INDArray graph = model.graph(Graph.Mode.INFER, 1, 7).logits(tokens);
        Shards fast = new Shards(model, 1, 7, 1, false);
        LanguageModel.Decoder decoder = model.decoder();
        float[][] kept = new float[7][];
        for (int t = 0; t < 7; t++) {
            float[] cached = decoder.append(tokens[0][t]);
            kept[t] = cached;
            float[] full = fast.logits(tokens, t);
            assertEquals(t + 1, decoder.length());
            for (int v = 0; v < VOCAB; v++) {
                assertEquals(full[v], cached[v], 1e-5, stage + " position " + t + " token " + v);
                assertEquals(graph.getDouble(0, t, v), full[v], 1e-4, stage + " graph, position " + t);
            }
        }
        // The modules' steps reuse their buffers from token to token; what append returns is the caller's to keep.
        for (int t = 0; t < 7; t++) {
            assertEquals(fast.logits(tokens, t)[0], kept[t][0], 1e-5, stage + " position " + t + ", kept");
        }
        assertEquals(IllegalStateException.class, org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                () -> decoder.append(0)).getClass(), "full at block_size");
        decoder.reset();
        assertEquals(0, decoder.length());
    }

    /**
     * A prefill (one forward pass over the context) leaves the decoder where feeding the tokens one by one does,
     * with its products in one part or split in two (what larger models do).
     */
    @ParameterizedTest
    @EnumSource(Stage.class)
    void aPrefillEqualsFeedingTheTokensOneByOne(Stage stage) {
        LanguageModel model = LanguageModel.create(new GptConfig(stage, VOCAB, 7, 12, 3, 2, 0.0, true), 6);
        int[] tokens = randomTokens(new Random(9 + stage.ordinal()), 1, 9)[0];
        for (int parts : model instanceof Gpt ? new int[]{1, 2} : new int[]{1}) {
            for (int count = 0; count < 7; count++) {
                LanguageModel.Decoder stepped = model.decoder();
                for (int t = 0; t < count; t++) {
                    stepped.append(tokens[2 + t]);
                }
                LanguageModel.Decoder prefilled = model instanceof Gpt g ? g.decoder(parts) : model.decoder();
                prefilled.prefill(tokens, 2, count);
                assertEquals(count, prefilled.length());
                for (int t = count; t < 7; t++) {
                    float[] a = stepped.append(tokens[2 + t]);
                    float[] b = prefilled.append(tokens[2 + t]);
                    for (int v = 0; v < VOCAB; v++) {
                        assertEquals(a[v], b[v], 1e-5, stage + ", " + parts + " parts: prefill of " + count
                                + ", position " + t);
                    }
                }
            }
        }
    }

    /**
     * A start (the whole context in one pass, the last layer's rest for the last position alone) gives the logits
     * that feeding the tokens one by one gives, and leaves the decoder where that does.
     */
    @ParameterizedTest
    @EnumSource(Stage.class)
    void aStartEqualsFeedingTheTokensOneByOne(Stage stage) {
        for (boolean residual : stage.usesBlocks() ? new boolean[]{true, false} : new boolean[]{true}) {
            startEqualsFeedingTheTokensOneByOne(new GptConfig(stage, VOCAB, 7, 12, 3, 2, 0.0, true, residual));
        }
    }

    private static void startEqualsFeedingTheTokensOneByOne(GptConfig config) {
        Stage stage = config.stage();
        LanguageModel model = LanguageModel.create(config, 8);
        int[] tokens = randomTokens(new Random(19 + stage.ordinal()), 1, 9)[0];
        for (int parts : model instanceof Gpt ? new int[]{1, 2} : new int[]{1}) {
            for (int count = 1; count <= 7; count++) {
                LanguageModel.Decoder stepped = model.decoder();
                float[] a = null;
                for (int t = 0; t < count; t++) {
                    a = stepped.append(tokens[2 + t]);
                }
                LanguageModel.Decoder started = model instanceof Gpt g ? g.decoder(parts) : model.decoder();
                float[] b = started.start(tokens, 2, count);
                assertEquals(count, started.length());
                for (int t = count; ; t++) {
                    for (int v = 0; v < VOCAB; v++) {
                        assertEquals(a[v], b[v], 1e-5, stage + (config.residual() ? "" : " without residuals") + ", "
                                + parts + " parts: start of " + count + ", position " + (t - 1));
                    }
                    if (t == 7) {
                        break;
                    }
                    a = stepped.append(tokens[2 + t]);
                    b = started.append(tokens[2 + t]);
                }
            }
        }
    }

    @Test
    void aPrefillIsSplitOnlyWhereItPays() {
        assertEquals(1, Gpt.windowParts(GptConfig.gpt(65, 32, 64, 4, 4, 0.0)), "T: 32 x 64 x 192");
        assertEquals(2, Gpt.windowParts(GptConfig.gpt(65, 64, 128, 4, 4, 0.0)), "A: 64 x 128 x 384");
        assertEquals(2, Gpt.windowParts(GptConfig.gpt(65, 256, 384, 6, 6, 0.2)), "B");
    }

    /** Sampling without a cache runs its windows in as many parts as the model's decoder runs its own. */
    @Test
    void aWindowForSamplingIsSplitAsTheDecodersWindow() {
        LanguageModel t = LanguageModel.create(GptConfig.gpt(65, 32, 64, 4, 4, 0.0), 1);
        LanguageModel a = LanguageModel.create(GptConfig.gpt(65, 64, 128, 4, 4, 0.0), 1);
        assertEquals(1, Shards.window(t, 16).parts(), "T");
        assertEquals(2, Shards.window(a, 16).parts(), "A");
        assertEquals(2, Shards.window(a, 64).parts(), "A, a whole block");
        assertEquals(1, Shards.window(LanguageModel.create(small(Stage.BIGRAM), 1), BLOCK).parts(), "the bigram model");
    }

    /**
     * A pass that only infers (no gradients: sampling without the cache, `gpt eval`) shares what each module computes
     * with the same module of the other blocks, and has none of the buffers of a backward pass; a training pass keeps
     * every block's for its backward pass, and a decoder's window keeps them for its caches. (That sharing changes no
     * logits: the decoder and sampler tests.)
     */
    @Test
    void aPassThatOnlyInfersSharesItsBlocksArrays() {
        LanguageModel model = LanguageModel.create(small(Stage.GPT), 3);
        for (int parts : new int[]{1, 2}) {
            Shard inference = new Shard(model.parameters(), 2, BLOCK, 0, false);
            inference.parts = parts;
            Shard training = new Shard(model.parameters(), 2, BLOCK, 0, true);
            Shard decoder = new Shard(model.parameters(), 1, BLOCK, 0, false);
            decoder.parts = parts;
            decoder.keepsOutputs = true;
            for (Shard s : new Shard[]{inference, training, decoder}) {
                Gpt.Pass p = (Gpt.Pass) model.pass(s);
                Block.Pass b0 = p.blocks[0];
                Block.Pass b1 = p.blocks[1];
                boolean shared = s == inference;
                String what = (s == inference ? "inference" : s == training ? "training" : "decoder") + ", " + parts
                        + " parts: ";
                // The q/k/v product stays in native memory only, where the heads' products read it, except in a
                // decoder's window (its caches are filled from it) and a window in parts (which splits it).
                assertEquals(s != decoder && s.parts == 1, b0.sa.qkv.y == null, what + "q/k/v product without an array");
                assertEquals(shared, b0.sa.qkv.y == null ? b0.sa.qkv.yD == b1.sa.qkv.yD : b0.sa.qkv.y == b1.sa.qkv.y,
                        what + "q/k/v product");
                assertEquals(shared, b0.sa.attention.att == b1.sa.attention.att, what + "attention weights");
                // So does attention's output, which the projection reads there, but in a window in parts.
                assertEquals(s.parts == 1, b0.sa.attention.y == null, what + "attention's output without an array");
                if (s.parts == 1) {
                    assertEquals(shared, b0.sa.attention.yD == b1.sa.attention.yD, what + "attention's output");
                }
                assertEquals(shared, b0.ffwd.expand.y == b1.ffwd.expand.y, what + "hidden layer");
                assertEquals(shared, b0.ln1.out == b1.ln1.out, what + "ln1");
                assertEquals(s == training, b0.sa.qkv.dx != null, what + "a gradient buffer");
                assertEquals(s == training, b0.sa.attention.dqkvD != null, what + "attention's gradient buffer");
                if (s.parts > 1) {   // a window's products in parts leave their outputs there
                    assertEquals(shared, b0.sa.qkv.yD == b1.sa.qkv.yD, what + "q/k/v product in native memory");
                }
            }
        }
    }

    /**
     * A window for sampling (a pass that only infers, sharing its blocks' arrays), in one part or split into several
     * (its products on threads of their own: heads in groups, the feed-forward's hidden layer in column ranges, the
     * other products in row ranges), gives the logits of a pass that keeps every block's arrays, at every position, in
     * every stage, with and without biases and residual connections.
     */
    @ParameterizedTest
    @EnumSource(Stage.class)
    void aWindowForSamplingGivesTheLogitsOfAPassThatKeepsItsArrays(Stage stage) {
        for (boolean bias : new boolean[]{true, false}) {
            for (boolean residual : stage.usesBlocks() ? new boolean[]{true, false} : new boolean[]{true}) {
                GptConfig config = new GptConfig(stage, VOCAB, 7, 12, 3, 2, 0.0, bias, residual);
                LanguageModel model = LanguageModel.create(config, 5);
                for (int time : new int[]{7, 4}) {
                    int[][] x = randomTokens(new Random(31 + stage.ordinal() + time), 1, time);
                    float[][] whole = new float[time][];
                    Shards kept = new Shards(model, 1, time, 1, true);   // with gradients: nothing shared
                    for (int t = 0; t < time; t++) {
                        whole[t] = kept.logits(x, t);
                    }
                    for (int parts : new int[]{1, 2, 3}) {
                        Shards split = Shards.window(model, time, parts);
                        for (int round = 0; round < 2; round++) {   // again: nothing left over from the first
                            for (int t = 0; t < time; t++) {
                                assertArrayEquals(whole[t], split.logits(x, t), 1e-5f, stage + (bias ? "" : ", no bias")
                                        + (residual ? "" : ", no residuals") + ", " + parts + " parts, T " + time
                                        + ", position " + t);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void initialLossIsCloseToLnVocab() {
        LanguageModel model = LanguageModel.create(GptConfig.gpt(65, 32, 64, 4, 4, 0.0), 1337);
        Random r = new Random(4);
        int[][] x = new int[16][32];
        int[][] y = new int[16][32];
        for (int b = 0; b < 16; b++) {
            for (int t = 0; t < 32; t++) {
                x[b][t] = r.nextInt(65);
                y[b][t] = r.nextInt(65);
            }
        }
        double loss = new Shards(model, 16, 32, 4, false).loss(x, y);
        assertEquals(Math.log(65), loss, 0.35, "initial loss " + loss);
        assertEquals(loss, model.graph(Graph.Mode.EVAL, 16, 32).loss(x, y), 1e-5);
    }

    @Test
    void graphsTakeTheParametersCurrentValues() {
        LanguageModel model = LanguageModel.create(small(Stage.GPT), 9);
        Graph g = model.graph(Graph.Mode.INFER, 1, BLOCK);
        int[][] idx = randomTokens(new Random(5), 1, BLOCK);
        double before = g.logits(idx).getDouble(0, 0, 0);
        float[] bias = model.parameters().values("lm_head.bias");
        bias[0] += 1f;
        model.parameters().set("lm_head.bias", bias);
        assertEquals(before + 1.0, g.logits(idx).getDouble(0, 0, 0), 1e-5);
    }

    @Test
    void aGraphNamesEveryHeadsAttentionWeights() {
        LanguageModel model = LanguageModel.create(small(Stage.GPT), 9);
        int[][] idx = randomTokens(new Random(8), 2, BLOCK);
        Graph eval = model.graph(Graph.Mode.EVAL, 2, BLOCK);
        assertEquals(model.graph(Graph.Mode.INFER, 2, BLOCK).logits(idx), eval.logits(idx));
        INDArray wei = eval.outputs(idx, "blocks.0.sa.heads.1.wei").get("blocks.0.sa.heads.1.wei");
        assertArrayEquals(new long[]{2, BLOCK, BLOCK}, wei.shape());
        for (int t = 0; t < BLOCK; t++) {
            double sum = 0;
            for (int u = 0; u < BLOCK; u++) {
                sum += wei.getDouble(0, t, u);
            }
            assertEquals(1.0, sum, 1e-5, "row " + t + " sums to 1");
            assertEquals(0.0, t + 1 < BLOCK ? wei.getDouble(0, t, t + 1) : 0.0, 0.0, "no weight on the future");
        }
    }

    @Test
    void parametersAreNamedAsTheLecturesModules() {
        assertEquals(java.util.List.of("token_embedding_table.weight", "position_embedding_table.weight",
                        "sa_head.key.weight", "sa_head.query.weight", "sa_head.value.weight", "lm_head.weight", "lm_head.bias"),
                LanguageModel.create(small(Stage.HEAD), 1).parameters().names());
        var gpt = LanguageModel.create(small(Stage.GPT), 1).parameters();
        assertTrue(gpt.names().containsAll(java.util.List.of("blocks.1.sa.heads.1.key.weight", "blocks.0.sa.proj.weight",
                "blocks.0.ffwd.net.2.bias", "blocks.1.ln2.weight", "ln_f.bias")), gpt.names().toString());
        assertArrayEquals(new long[]{8, 4}, gpt.parameter("blocks.0.sa.heads.1.query.weight").shape());
        assertEquals(Nd4j.create(new float[]{0}, new long[]{1}, 'c').dataType(), gpt.get("ln_f.bias").dataType());
    }
}
