package dev.letsbuildgpt.data;

import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.TestData;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CharTokenizerTest {
    @Test
    void tinyShakespeareHasTheLecturesVocabulary() {
        CharTokenizer tok = CharTokenizer.fromText(TestData.shakespeare());
        assertEquals(65, tok.vocabSize());
        assertEquals("\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", tok.vocabulary());
        assertArrayEquals(new int[]{46, 47, 47, 1, 58, 46, 43, 56, 43}, tok.encode("hii there"));  // as in the lecture
    }

    @Test
    void encodeThenDecodeGivesTheTextBack() {
        String text = TestData.shakespeare();
        CharTokenizer tok = CharTokenizer.fromText(text);
        String part = text.substring(0, 5000);
        assertEquals(part, tok.decode(tok.encode(part)));
        assertEquals(tok, CharTokenizer.fromVocabulary(tok.vocabulary()));
    }

    @Test
    void charactersBeyondTheBasicPlaneAreOneToken() {
        CharTokenizer tok = CharTokenizer.fromText("a🙂b");
        assertEquals(3, tok.vocabSize());
        assertEquals("🙂a", tok.decode(tok.encode("🙂a")));
    }

    @Test
    void anUnknownCharacterIsAnErrorThatNamesIt() {
        CharTokenizer tok = CharTokenizer.fromText("hello");
        GptException e = assertThrows(GptException.class, () -> tok.encode("help"));
        assertTrue(e.getMessage().contains("'p'") && e.getMessage().contains("position 3"), e.getMessage());
    }
}
