package dev.letsbuildgpt.notebook;

import dev.letsbuildgpt.model.FeedForward;
import dev.letsbuildgpt.model.Head;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SourceTest {
    @Test
    void showsAMemberWithItsCommentAndBody() {
        String define = Source.of(Head.class, "define");
        assertTrue(define.startsWith("src/main/java/dev/letsbuildgpt/model/Head.java, lines "), define);
        assertTrue(define.contains("/** x: [B*T, C] -> [B*T, head_size]."), define);
        assertTrue(define.contains("softmax"), define);
        assertTrue(define.strip().endsWith("}"), define);
        String pass = Source.of(FeedForward.class, "Pass");
        assertTrue(pass.contains("public float[] forward(float[] x)") && pass.contains("public float[] backward("), pass);
        assertTrue(Source.of(Head.class).contains("public final class Head"));
        assertThrows(IllegalArgumentException.class, () -> Source.of(Head.class, "noSuchMember"));
    }
}
