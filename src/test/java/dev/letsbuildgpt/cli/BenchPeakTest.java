package dev.letsbuildgpt.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.letsbuildgpt.train.Json;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The benchmark's MFU is taken against the machine's matmul peak measured before and after its configurations, each
 * figure the higher of the two: a measurement taken in a moment of contention (one run here measured 208.6 GFLOP/s
 * on both cores before and about 365 just after) would otherwise overstate every MFU of the run.
 */
class BenchPeakTest {
    @Test
    void eachFigureIsTheHigherOfTheTwoMeasurements() {
        ObjectNode before = peaks(200.6, 205.7, 184.0, 84.7, 208.6);
        ObjectNode after = peaks(291.6, 332.3, 180.0, 106.0, 344.1);
        ObjectNode p = BenchCommand.higherOf(before, after);
        assertEquals(291.6, p.get("nd4j_1024").asDouble());
        assertEquals(184.0, p.get("nd4j_1024_1_thread").asDouble());
        assertEquals(344.1, p.get("best").asDouble());
        assertEquals("torch_2048", p.get("best_by").asText());
        assertEquals(208.6, p.get("before").get("best").asDouble());
        assertEquals(344.1, p.get("after").get("best").asDouble());
        // the other way round, and one core's figure never counts as the machine's
        p = BenchCommand.higherOf(peaks(300, 310, 400, 90, 305), peaks(250, 260, 170, 80, 255));
        assertEquals(310, p.get("best").asDouble());
        assertEquals("nd4j_2048", p.get("best_by").asText());
    }

    private static ObjectNode peaks(double nd4j1024, double nd4j2048, double oneThread, double torch1024,
                                    double torch2048) {
        ObjectNode o = Json.SNAKE.createObjectNode();
        o.put("nd4j_1024", nd4j1024);
        o.put("nd4j_2048", nd4j2048);
        o.put("nd4j_1024_1_thread", oneThread);
        o.put("torch_1024", torch1024);
        o.put("torch_2048", torch2048);
        double best = Math.max(Math.max(nd4j1024, nd4j2048), Math.max(torch1024, torch2048));
        o.put("best", best);
        o.put("best_by", "?");
        return o;
    }
}
