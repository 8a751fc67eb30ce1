package dev.letsbuildgpt.train;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What a run prints where there is no terminal: the lecture's evaluation lines, and step lines only in a console. */
class ProgressTest {
    static String run(java.util.function.Function<PrintStream, Progress> make, int steps) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        try (Progress p = make.apply(out)) {
            for (int s = 0; s <= steps; s++) {
                if (s % 50 == 0) {
                    p.evaluation(new Metrics.Evaluation(s, 4.0 - s / 100.0, 4.1 - s / 100.0, 1e-3, 1000, s));
                }
                if (s < steps) {
                    p.step(s + 1, 3.0, 12345);
                }
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void evaluationsPrintsOnlyTheLecturesLines() {
        assertEquals("step 0: train loss 4.0000, val loss 4.1000\nstep 50: train loss 3.5000, val loss 3.6000\n"
                + "step 100: train loss 3.0000, val loss 3.1000\n", run(Progress::evaluations, 100).replace("\r", ""));
    }

    @Test
    void plainLinesAddAboutTwentyStepLines() {
        String out = run(o -> new Progress.Lines(100, o), 100);
        assertEquals(3, out.lines().filter(l -> l.contains("train loss")).count());
        assertEquals(20, out.lines().filter(l -> l.contains("tokens/s")).count());
    }
}
