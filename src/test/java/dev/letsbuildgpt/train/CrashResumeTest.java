package dev.letsbuildgpt.train;

import dev.letsbuildgpt.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Kills a training process with SIGKILL at many moments (during steps, evaluations and checkpoint writes), checks
 * after every kill that the latest checkpoint loads, resumes until the run is done, and compares the result with a
 * run that was never interrupted: the same losses, parameters and optimizer state, bit for bit.
 */
class CrashResumeTest {
    static final int KILLS = 20;

    @TempDir
    Path tmp;

    private List<String> command(Path out, String... extra) {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+UseSerialGC",
                // widen each checkpoint write for the kills (a test-only pause: see Checkpoint.pauseForCrashTests)
                "-D" + Checkpoint.PAUSE_PROPERTY + "=150",
                "-cp", System.getProperty("java.class.path"), "dev.letsbuildgpt.cli.Main", "train",
                "--preset", "layernorm", "--dropout", "0.1", "--max-iters", "100", "--eval-interval", "5",
                "--eval-iters", "2", "--out", out.toString(), "--data", TestData.source(), "--sample-tokens", "0"));
        cmd.addAll(List.of(extra));
        return cmd;
    }

    /** Starts the trainer and returns once it has loaded ND4J and the data (its "backend:" line). */
    private static Process start(List<String> cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Process p = pb.start();
        java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()));
        String line;
        while ((line = out.readLine()) != null && !line.startsWith("backend:")) {
            // start-up output
        }
        Thread drain = new Thread(() -> {
            try {
                out.transferTo(java.io.Writer.nullWriter());
            } catch (java.io.IOException ignored) {
                // the process was killed
            }
        });
        drain.setDaemon(true);
        drain.start();
        return p;
    }

    @Test
    void killedRunsResumeToExactlyTheUninterruptedResult() throws Exception {
        Path whole = tmp.resolve("whole");
        Process p = start(command(whole));
        long t0 = System.nanoTime();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, p.exitValue());
        int workMillis = (int) ((System.nanoTime() - t0) / 1_000_000);   // from loaded to done

        Path run = tmp.resolve("killed");
        Random r = new Random(42);
        int midWrite = 0;
        int withCheckpoint = 0;
        for (int k = 0; k < KILLS; k++) {
            boolean resume = Files.exists(run.resolve(Checkpoint.FILE_NAME));
            long before = Files.exists(run.resolve(Checkpoint.FILE_NAME))
                    ? Files.getLastModifiedTime(run.resolve(Checkpoint.FILE_NAME)).toMillis() : 0;
            Process c = start(resume ? command(run, "--resume") : command(run, "--force"));
            // A third of the kills wait for a checkpoint write to begin and land inside it; a third wait for this
            // process's first new checkpoint (so the run advances) and land anywhere after it; a third land
            // anywhere from start-up on: building the graphs, steps, evaluations, writes.
            Path tmpFile = run.resolve(Checkpoint.FILE_NAME + "." + c.pid() + ".tmp");   // AtomicFiles.tempFor
            long deadline = System.currentTimeMillis() + 60_000;
            if (k % 3 == 0) {
                while (c.isAlive() && System.currentTimeMillis() < deadline && !Files.exists(tmpFile)) {
                    Thread.sleep(1);
                }
            } else if (k % 3 == 1) {
                while (c.isAlive() && System.currentTimeMillis() < deadline && (!Files.exists(run.resolve(Checkpoint.FILE_NAME))
                        || Files.getLastModifiedTime(run.resolve(Checkpoint.FILE_NAME)).toMillis() <= before)) {
                    Thread.sleep(5);
                }
                Thread.sleep(r.nextInt(Math.max(1, workMillis / 4)));
            } else {
                Thread.sleep(r.nextInt(Math.max(1, workMillis / 4)));
            }
            c.destroyForcibly();   // SIGKILL on Linux
            c.waitFor();
            if (Files.exists(tmpFile)) {
                midWrite++;
            }
            if (Files.exists(run.resolve(Checkpoint.FILE_NAME))) {
                withCheckpoint++;
                Checkpoint ck = Checkpoint.load(run);   // never torn
                assertTrue(ck.step() % 5 == 0 && ck.step() <= 100, "step " + ck.step());
            }
        }
        Path log = tmp.resolve("final.log");
        Process fin = new ProcessBuilder(Files.exists(run.resolve(Checkpoint.FILE_NAME)) ? command(run, "--resume")
                : command(run, "--force")).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(fin.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, fin.exitValue(), Files.readString(log));

        List<Metrics.Evaluation> a = Metrics.read(whole);
        List<Metrics.Evaluation> b = Metrics.read(run);
        assertEquals(21, a.size(), a.toString());
        assertEquals(a.stream().map(Metrics.Evaluation::step).toList(), b.stream().map(Metrics.Evaluation::step).toList(),
                "evaluated steps");
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).step(), b.get(i).step());
            assertEquals(a.get(i).trainLoss(), b.get(i).trainLoss(), 0.0, "train loss at step " + a.get(i).step());
            assertEquals(a.get(i).valLoss(), b.get(i).valLoss(), 0.0, "val loss at step " + a.get(i).step());
        }
        Checkpoint ca = Checkpoint.load(whole);
        Checkpoint cb = Checkpoint.load(run);
        TrainerTest.assertExactlyEqual(ca.params(), cb.params());
        TrainerTest.assertExactlyEqual(ca.optimizer(), cb.optimizer());
        assertEquals(Metrics.readSteps(whole), Metrics.readSteps(run), "every step's loss");
        assertTrue(Files.exists(run.resolve(Checkpoint.BEST_NAME)));
        try (var history = Files.list(run.resolve(Checkpoint.HISTORY_DIR))) {
            assertEquals(3, history.filter(f -> f.toString().endsWith(".zip")).count());
        }
        String summary = String.format("uninterrupted work: %d ms; kills: %d, with a checkpoint on disk after the kill: %d, killed during a"
                + " checkpoint write: %d, checkpoints that failed to load: 0, resumed result identical: yes%n",
                workMillis, KILLS, withCheckpoint, midWrite);
        System.out.print(summary);
        Files.writeString(Path.of("target", "crash-resume.txt"), summary);
        assertTrue(withCheckpoint >= KILLS / 2, summary);
        assertTrue(midWrite >= 5, "kills must also land inside checkpoint writes: " + summary);
    }
}
