package dev.letsbuildgpt.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every stage has exactly the lecture's parameter count (shared/REFERENCE_NUMBERS.md). */
class ParameterCountTest {
    @ParameterizedTest(name = "{0} {1}/{2}/{3} block {4}: {5}")
    @CsvSource({
            "BIGRAM,    0,  0, 0,   8,     4225",
            "HEAD,      32, 1, 0,   8,     7553",
            "MULTIHEAD, 32, 4, 0,   8,     7553",
            "FFWD,      32, 4, 0,   8,     8609",
            "RESIDUAL,  32, 4, 3,   8,    41921",
            "GPT,       32, 4, 3,   8,    42369",
            "GPT,       64, 4, 4,  32,   209729",
            "GPT,      128, 4, 4,  64,   816705",
            "GPT,      384, 6, 6, 256, 10788929",
    })
    void parameterCountEqualsTheLectures(Stage stage, int nEmbd, int nHead, int nLayer, int block, long expected) {
        GptConfig c = new GptConfig(stage, 65, block, nEmbd, nHead, nLayer, 0.0, true);
        assertEquals(expected, LanguageModel.create(c, 1337).parameters().count());
    }
}
