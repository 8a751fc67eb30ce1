package dev.letsbuildgpt.train;

import dev.letsbuildgpt.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The same run on machines with 1, 2 and 16 cores (JVMs told so with -XX:ActiveProcessorCount, so that the fast path
 * starts that many threads): bit-identical losses, weights and optimizer state, and the same sample. Changing the
 * number of shards, a setting of the run, changes the rounding.
 */
class DeterminismTest {
    @TempDir
    Path tmp;

    private Path train(int cores, String shards) throws Exception {
        Path out = tmp.resolve("cores-" + cores + "-shards-" + shards);
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+UseSerialGC",
                "-XX:ActiveProcessorCount=" + cores, "-cp", System.getProperty("java.class.path"),
                "dev.letsbuildgpt.cli.Main", "train", "--preset", "layernorm", "--dropout", "0.1", "--max-iters", "40",
                "--eval-interval", "20", "--eval-iters", "4", "--batch-size", "12", "--shards", shards,
                "--out", out.toString(), "--data", TestData.source(), "--sample-tokens", "300"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("log-" + cores + "-" + shards).toFile());
        pb.environment().remove("GPT_THREADS");   // one thread per core, as on a user's machine
        Process p = pb.start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("log-" + cores + "-" + shards)));
        return out;
    }

    /** The sample the run printed: 300 characters, far past block_size 8 (a prefill split in two per character). */
    private Path log(int cores, String shards) {
        return tmp.resolve("log-" + cores + "-" + shards);
    }

    private String sample(int cores, String shards) throws Exception {
        String log = Files.readString(log(cores, shards));
        int at = log.indexOf("--- sample ---\n");
        assertTrue(at >= 0, log);
        return log.substring(at);
    }

    /** Each evaluation's step and losses (not its timings). */
    private static List<List<Double>> losses(Path run) {
        return Metrics.read(run).stream().map(e -> List.of((double) e.step(), e.trainLoss(), e.valLoss())).toList();
    }

    @Test
    void theSameRunGivesBitIdenticalResultsOnOneTwoOrSixteenCores() throws Exception {
        Path one = train(1, "4");
        Checkpoint a = Checkpoint.load(one);
        for (int cores : new int[]{2, 16}) {
            Path other = train(cores, "4");
            Checkpoint b = Checkpoint.load(other);
            TrainerTest.assertExactlyEqual(a.params(), b.params());
            TrainerTest.assertExactlyEqual(a.optimizer(), b.optimizer());
            assertEquals(losses(one), losses(other), cores + " cores: the evaluations");
            assertEquals(Metrics.readSteps(one), Metrics.readSteps(other), cores + " cores: every step's loss");
            assertEquals(sample(1, "4"), sample(cores, "4"), cores + " cores: the sample");
        }
        // The number of shards is part of the run's arithmetic: another count rounds differently (and barely).
        Checkpoint three = Checkpoint.load(train(2, "3"));
        assertFalse(a.params().entrySet().stream().allMatch(e -> java.util.Arrays.equals(e.getValue(),
                three.params().get(e.getKey()))), "3 shards round differently from 4");
        double worst = 0;
        for (var e : a.params().entrySet()) {
            float[] x = e.getValue();
            float[] y = three.params().get(e.getKey());
            for (int i = 0; i < x.length; i++) {
                worst = Math.max(worst, Math.abs(x[i] - y[i]));
            }
        }
        assertTrue(worst < 1e-3, "but only by rounding: " + worst);
    }
}
