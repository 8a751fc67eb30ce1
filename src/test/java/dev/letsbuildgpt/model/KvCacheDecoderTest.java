package dev.letsbuildgpt.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class KvCacheDecoderTest {

    /** Position by position, the cached decoder's logits are the full graph's logits at that position. */
    @ParameterizedTest
    @EnumSource(Stage.class)
    void cachedLogitsEqualTheGraphsAtEveryPosition(Stage stage) {
        int vocab = 11;
        int block = 7;
        GptConfig cfg = new GptConfig(stage, vocab, block, 12, 3, 2, 0.0, true);
        Gpt model = new Gpt(cfg, 5);
        int[][] tokens = new int[1][block];
        Random r = new Random(stage.ordinal());
        for (int t = 0; t < block; t++) {
            tokens[0][t] = r.nextInt(vocab);
        }
        INDArray expected = model.graph(Gpt.Mode.INFER, 1, block).logits(tokens);   // [1, T, V]
        KvCacheDecoder decoder = new KvCacheDecoder(model);
        for (int t = 0; t < block; t++) {
            float[] logits = decoder.append(tokens[0][t]);
            assertEquals(t + 1, decoder.length());
            for (int v = 0; v < vocab; v++) {
                assertEquals(expected.getDouble(0, t, v), logits[v], 1e-4, stage + " position " + t + " token " + v);
            }
        }
        assertThrows(IllegalStateException.class, () -> decoder.append(0));   // full at block_size
        decoder.reset();
        assertEquals(0, decoder.length());
    }

    @Test
    void resetTakesTheModelsCurrentWeights() {
        Gpt model = new Gpt(GptConfig.gpt(9, 4, 8, 2, 1, 0.0), 1);
        KvCacheDecoder decoder = new KvCacheDecoder(model);
        float before = decoder.append(3)[0];
        model.parameters().get("lm_head.bias").addi(1.0);
        decoder.reset();
        assertEquals(before + 1.0, decoder.append(3)[0], 1e-5);
    }
}
