package dev.letsbuildgpt.sample;

import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.data.CharTokenizer;
import dev.letsbuildgpt.model.GptConfig;
import dev.letsbuildgpt.model.Graph;
import dev.letsbuildgpt.model.LanguageModel;
import dev.letsbuildgpt.model.Stage;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {
    static final CharTokenizer TOK = CharTokenizer.fromText("abcdefghij \n");
    static final LanguageModel MODEL = LanguageModel.create(new GptConfig(Stage.GPT, TOK.vocabSize(), 8, 16, 2, 2, 0.0, true), 3);

    @Test
    void outputStartsWithThePromptAndHasTheRequestedLength() {
        String out = new Sampler(MODEL, TOK).generate("abc", Sampler.Settings.of(20, 1), null);
        assertTrue(out.startsWith("abc"));
        assertEquals(23, out.length());
    }

    @Test
    void theSameSeedGivesTheSameTextAndAnotherSeedAnother() {
        Sampler s = new Sampler(MODEL, TOK);
        String a = s.generate("a", Sampler.Settings.of(30, 5), null);
        assertEquals(a, s.generate("a", Sampler.Settings.of(30, 5), null));
        assertNotEquals(a, s.generate("a", Sampler.Settings.of(30, 6), null));
    }

    @Test
    void topKOfOneIsGreedyAndLongContextsAreCroppedToTheBlock() {
        Sampler s = new Sampler(MODEL, TOK);
        String prompt = "abcdefghij abcdefghij";   // longer than the block of 8
        int[] out = s.generate(TOK.encode(prompt), new Sampler.Settings(1, 1.0, 1, 9), null);
        // Greedy: the next token is the argmax of the logits over the last 8 tokens.
        int[][] window = {TOK.encode(prompt.substring(prompt.length() - 8))};
        INDArray logits = MODEL.graph(Graph.Mode.INFER, 1, 8).logits(window);
        int best = 0;
        for (int v = 1; v < TOK.vocabSize(); v++) {
            if (logits.getDouble(0, 7, v) > logits.getDouble(0, 7, best)) {
                best = v;
            }
        }
        assertEquals(best, out[out.length - 1]);
    }

    /**
     * The key/value cache changes the speed, not the text: same seed, same tokens, past block_size too (where both
     * run the fast forward pass over the cropped window); and both draw what the lecture's generate draws with the
     * SameDiff graph's logits, written out here, before and past block_size.
     */
    @Test
    void cachedAndUncachedSamplingGiveTheSameTokensAsTheGraph() {
        Sampler cached = new Sampler(MODEL, TOK, true);
        Sampler full = new Sampler(MODEL, TOK, false);
        Graph graph = MODEL.graph(Graph.Mode.INFER, 1, 8);
        for (long seed = 1; seed <= 5; seed++) {
            for (Integer topK : new Integer[]{null, 3}) {
                Sampler.Settings s = new Sampler.Settings(30, seed == 5 ? 2.0 : 1.0, topK, seed);  // 30 > block 8
                for (int[] prompt : new int[][]{{0}, TOK.encode("abc de")}) {
                    int[] want = generateWithTheGraph(graph, prompt, s);
                    assertArrayEquals(want, cached.generate(prompt, s, null), "with the cache, seed " + seed);
                    assertArrayEquals(want, full.generate(prompt, s, null), "without, seed " + seed);
                }
            }
        }
    }

    /** generate as the lecture writes it: crop to block_size, logits of the last position, sample, append. */
    static int[] generateWithTheGraph(Graph graph, int[] prompt, Sampler.Settings s) {
        Random random = new Random(s.seed());
        int[] tokens = java.util.Arrays.copyOf(prompt, prompt.length + s.tokens());
        for (int n = prompt.length; n < tokens.length; n++) {
            int start = Math.max(0, n - 8);
            int[][] window = new int[1][8];
            System.arraycopy(tokens, start, window[0], 0, n - start);
            INDArray logits = graph.logits(window);
            double[] row = new double[TOK.vocabSize()];
            for (int v = 0; v < row.length; v++) {
                row[v] = logits.getDouble(0, n - start - 1, v);
            }
            tokens[n] = Sampler.sample(row, s.temperature(), s.topK(), random);
        }
        return tokens;
    }

    @Test
    void lowTemperatureConcentratesAndTopKExcludesTheRest() {
        double[] logits = {1.0, 2.0, 3.0, 0.5};
        Random r = new Random(1);
        int[] counts = new int[4];
        for (int i = 0; i < 2000; i++) {
            counts[Sampler.sample(logits, 1.0, 2, r)]++;
        }
        assertEquals(0, counts[0] + counts[3]);                // only the two likeliest
        assertEquals(2000 / (1 + Math.E), counts[1], 80);      // p = e^2 / (e^2 + e^3)
        for (int i = 0; i < 100; i++) {
            assertEquals(2, Sampler.sample(logits, 0.01, null, r));
        }
    }

    @Test
    void badSettingsAreClearErrors() {
        Sampler s = new Sampler(MODEL, TOK);
        assertThrows(GptException.class, () -> new Sampler.Settings(10, 0.0, null, 1));
        assertThrows(GptException.class, () -> new Sampler.Settings(-1, 1.0, null, 1));
        assertThrows(GptException.class, () -> s.generate("a", new Sampler.Settings(5, 1.0, 0, 1), null));
        assertThrows(GptException.class, () -> s.generate("a", new Sampler.Settings(5, 1.0, 99, 1), null));
        assertTrue(assertThrows(GptException.class, () -> s.generate("xyz", Sampler.Settings.of(5, 1), null))
                .getMessage().contains("'x'"));
    }
}
