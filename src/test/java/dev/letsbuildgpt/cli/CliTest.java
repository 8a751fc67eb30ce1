package dev.letsbuildgpt.cli;

import dev.letsbuildgpt.TestData;
import dev.letsbuildgpt.data.TinyShakespeare;
import dev.letsbuildgpt.compare.Comparison;
import dev.letsbuildgpt.train.Checkpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line end to end: a short run, sample, eval, info, and every bad input the core issue lists. */
class CliTest {
    @TempDir
    static Path tmp;
    static Path run;
    static byte[] checkpointBytes;

    record Result(int code, String out, String err) {
    }

    static synchronized Result cli(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
        try {
            int code = Main.run(args);
            return new Result(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    static String[] args(String... a) {
        return a;
    }

    /** Every command's help prints as written: no picocli warning (a lone % in a description is a format error). */
    @Test
    void everyCommandsHelpPrintsWithoutAWarning() {
        for (String name : new picocli.CommandLine(new Main()).getSubcommands().keySet()) {
            Result r = cli(name, "--help");
            assertEquals(0, r.code(), name + " --help");
            assertFalse((r.out() + r.err()).contains("WARN"), name + " --help: " + r.err());
        }
    }

    @BeforeAll
    static void trainASmallRun() throws Exception {
        run = tmp.resolve("run");
        Result r = cli("train", "--preset", "multihead", "--max-iters", "60", "--eval-interval", "30",
                "--eval-iters", "5", "--out", run.toString(), "--data", TestData.source(), "--sample-tokens", "50");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("7,553 parameters"), r.out());
        assertTrue(r.out().contains("--- sample ---"), r.out());
        for (String f : List.of("checkpoint.zip", "metrics.jsonl", "loss.png", "config.json")) {
            assertTrue(Files.isRegularFile(run.resolve(f)), f);
        }
        assertEquals(3 + 60, Files.readAllLines(run.resolve("metrics.jsonl")).size());   // 3 evaluations, 60 steps
        checkpointBytes = Files.readAllBytes(run.resolve(Checkpoint.FILE_NAME));
    }

    @Test
    void sampleStartsWithThePrompt() {
        Result r = cli("sample", "--ckpt", run.toString(), "--prompt", "ROMEO:", "--tokens", "40", "--seed", "3");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("ROMEO:"), r.out());
        assertEquals(46, r.out().strip().length() + countTrailingWhitespace(r.out()), r.out());
        assertEquals(r.out(), cli("sample", "--ckpt", run.toString(), "--prompt", "ROMEO:", "--tokens", "40",
                "--seed", "3").out());
    }

    @Test
    void theKvCacheIsTheDefaultAndChangesNothingButSpeed() {
        String[] a = {"sample", "--ckpt", run.toString(), "--prompt", "ROMEO:", "--tokens", "30", "--seed", "4"};
        Result cached = cli(a);
        String[] b = java.util.Arrays.copyOf(a, a.length + 1);
        b[a.length] = "--no-kv-cache";
        Result full = cli(b);
        assertEquals(0, full.code(), full.err());
        assertEquals(cached.out(), full.out());
    }

    /** The benchmark end to end, Java side only and a couple of steps (its numbers are not checked: no timing asserts). */
    @Test
    void benchMeasuresAConfigurationInItsOwnJvmAndWritesJson() throws Exception {
        Path out = tmp.resolve("bench");
        Result r = cli("bench", "--config", "T", "--steps", "2", "--warmup", "1", "--rounds", "1", "--no-torch",
                "--out", out.toString(),
                "--data", TestData.source());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("PyTorch reference skipped: --no-torch"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.matches("T +209,729 +[\\d,]+ +- .*")), r.out());
        var json = dev.letsbuildgpt.train.Json.SNAKE.readTree(out.resolve("bench.json").toFile());
        var java = json.get("results").get(0).get("java");
        assertEquals("T", java.get("config").asText());
        assertTrue(java.get("train_tok_s").asDouble() > 0);
        assertTrue(java.get("sample_same_tokens").asBoolean());
        assertTrue(java.get("peak_rss_mb").asDouble() > 0);
        assertTrue(json.get("machine").get("matmul_peak_gflops").asDouble() > 0);
        var peaks = json.get("machine").get("matmul_peaks_gflops");   // measured before and after the configurations
        assertTrue(peaks.get("before").get("best").asDouble() > 0 && peaks.get("after").get("best").asDouble() > 0);
        assertTrue(java.get("mfu").asDouble() > 0);
        assertEquals(2, cli("bench", "--config", "Q", "--no-torch").code());   // not a configuration
    }

    private static int countTrailingWhitespace(String s) {
        String noNewline = s.substring(0, s.length() - 1);   // println's newline is not a sampled character
        return noNewline.length() - noNewline.strip().length();
    }

    @Test
    void evalAndInfoReportTheCheckpoint() {
        Result e = cli("eval", "--ckpt", run.toString(), "--eval-iters", "3", "--data", TestData.source());
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().matches("(?s)train loss \\d\\.\\d{4}\nval loss \\d\\.\\d{4}\n.*"), e.out());
        Result i = cli("info", "--ckpt", run.toString());
        assertEquals(0, i.code(), i.err());
        assertTrue(i.out().contains("parameters: 7,553"), i.out());
        assertTrue(i.out().contains("step: 60 of 60"), i.out());
    }

    @Test
    void dataPutsACheckedCopyInAFolderAndRefusesAnyOtherText() throws Exception {
        Path dir = tmp.resolve("data-copy");
        Result r = cli("data", "--data", TestData.source(), "--dir", dir.toString());
        assertEquals(0, r.code(), r.err());
        Path file = dir.resolve(TinyShakespeare.FILE_NAME);
        assertEquals(TinyShakespeare.SHA256, TinyShakespeare.sha256(Files.readAllBytes(file)));
        assertTrue(r.out().startsWith("data: " + file + " (1,115,394 bytes"), r.out());
        Files.writeString(file, "a damaged copy\n");   // replaced by a good one, not kept
        assertEquals(0, cli("data", "--data", TestData.source(), "--dir", dir.toString()).code());
        assertEquals(TinyShakespeare.SHA256, TinyShakespeare.sha256(Files.readAllBytes(file)));
        Path other = tmp.resolve("other.txt");
        Files.writeString(other, "not Shakespeare at all\n");
        Path refused = tmp.resolve("data-refused");
        Result bad = cli("data", "--data", other.toString(), "--dir", refused.toString());
        assertEquals(1, bad.code());
        assertTrue(bad.err().startsWith("error: the text from " + other + " is not Tiny Shakespeare"), bad.err());
        assertFalse(Files.exists(refused.resolve(TinyShakespeare.FILE_NAME)));
    }

    @Test
    void resumeExtendsARunAndRefusesToClobberOne() throws Exception {
        Path dir = tmp.resolve("resume");
        String[] base = {"train", "--preset", "head", "--max-iters", "10", "--eval-interval", "10", "--eval-iters", "2",
                "--out", dir.toString(), "--data", TestData.source(), "--sample-tokens", "0"};
        assertEquals(0, cli(base).code());
        Result again = cli(base);
        assertEquals(1, again.code());
        assertTrue(again.err().contains("already holds a run"), again.err());
        Result resumed = cli("train", "--out", dir.toString(), "--resume", "--max-iters", "20", "--data",
                TestData.source(), "--sample-tokens", "0");
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.out().contains("done: step 20"), resumed.out());
        List<String> opts = new ArrayList<>(List.of(base));
        opts.add("--force");
        assertEquals(0, cli(opts.toArray(String[]::new)).code());
    }

    /** --init starts a new run from a checkpoint's weights: with no steps, the new checkpoint holds them unchanged. */
    @Test
    void initStartsANewRunFromACheckpointsWeights() throws Exception {
        Path dir = tmp.resolve("init");
        Result r = cli("train", "--init", run.toString(), "--max-iters", "0", "--eval-iters", "2", "--out",
                dir.toString(), "--data", TestData.source(), "--sample-tokens", "0");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("from the weights in " + run + ", preset multihead"), r.out());
        Checkpoint base = Checkpoint.load(run);
        Checkpoint started = Checkpoint.load(dir);
        assertEquals(0, started.step());
        assertEquals(base.config().model(), started.config().model());
        var a = base.model().parameters();
        var b = started.model().parameters();
        for (String name : a.names()) {
            assertArrayEquals(a.values(name), b.values(name), name);   // bit-equal floats
        }
        Result more = cli("train", "--init", run.toString(), "--max-iters", "3", "--learning-rate", "1e-4",
                "--eval-iters", "2", "--out", dir.toString(), "--force", "--data", TestData.source(),
                "--sample-tokens", "0");
        assertEquals(0, more.code(), more.err());
        assertTrue(more.out().contains("done: step 3"), more.out());
    }

    private static dev.letsbuildgpt.train.RunLock held;

    /** A run directory whose lock this process holds (as a notebook's trainer still running would). */
    private static Path locked() {
        Path dir = tmp.resolve("locked");
        if (held == null) {
            held = dev.letsbuildgpt.train.RunLock.acquire(dir);
        }
        return dir;
    }

    static Stream<Arguments> badInputs() throws Exception {
        Path notZip = Files.writeString(tmp.resolve("not-a-checkpoint.zip"), "hello");
        Path truncated = tmp.resolve("truncated.zip");
        Path corrupt = tmp.resolve(TinyShakespeare.FILE_NAME);
        Files.writeString(corrupt, TestData.shakespeare().substring(1));
        Path foreignDir = Files.createDirectories(tmp.resolve("foreign"));
        Files.writeString(foreignDir.resolve("checkpoint.zip"), "PK\u0003\u0004 not really");
        String data = TestData.source();
        Path empty = Files.createFile(tmp.resolve("empty.txt"));
        Path binary = Files.write(tmp.resolve("binary.txt"), new byte[]{'a', 0, 'b', 'c'});
        Path latin1 = Files.write(tmp.resolve("latin1.txt"), new byte[]{'c', 'a', 'f', (byte) 0xE9});
        Path otherText = Files.writeString(tmp.resolve("other.txt"), "0123456789 ".repeat(2000));
        Path aFile = Files.writeString(tmp.resolve("a-file"), "x");
        return Stream.of(
                args("train", "--preset", "nope", "--data", data),
                args("train", "--n-embd", "30", "--n-head", "4", "--data", data),
                args("train", "--n-layer", "0", "--data", data),
                args("train", "--batch-size", "-3", "--data", data),
                args("train", "--dropout", "1.0", "--data", data),
                args("train", "--learning-rate", "0", "--data", data),
                args("train", "--block-size", "2000000", "--out", tmp.resolve("big").toString(), "--data", data),
                args("train", "--frobnicate"),
                args("train", "--max-iters", "ten"),
                args("train", "--data", tmp.resolve("missing.txt").toString()),
                args("train", "--data", corrupt.toString(), "--out", tmp.resolve("x").toString()),
                args("train", "--data", "http://127.0.0.1:9/input.txt", "--out", tmp.resolve("y").toString()),
                args("train", "--data", empty.toString(), "--out", tmp.resolve("e1").toString()),
                args("train", "--data", binary.toString(), "--out", tmp.resolve("e2").toString()),
                args("train", "--data", latin1.toString(), "--out", tmp.resolve("e3").toString()),
                args("train", "--preset", "bigram", "--max-iters", "1", "--data", data, "--out",
                        aFile.resolve("run").toString()),
                args("eval", "--ckpt", run.toString(), "--data", otherText.toString()),
                args("train", "--out", run.toString(), "--resume", "--data", otherText.toString()),
                args("train", "--out", run.toString(), "--resume", "--n-layer", "7", "--data", data),
                args("train", "--init", run.toString(), "--n-embd", "64", "--out", tmp.resolve("i1").toString(),
                        "--data", data),
                args("train", "--init", run.toString(), "--resume", "--out", tmp.resolve("i2").toString(),
                        "--data", data),
                args("train", "--init", tmp.resolve("nothing-here").toString(), "--out",
                        tmp.resolve("i3").toString(), "--data", data),
                args("train", "--init", run.toString(), "--out", tmp.resolve("i4").toString(), "--data",
                        otherText.toString()),
                args("train", "--init", run.toString(), "--data", data),
                args("train", "--out", locked().toString(), "--force", "--data", data, "--max-iters", "1"),
                args("sample", "--ckpt", tmp.resolve("nothing-here").toString()),
                args("sample", "--ckpt", notZip.toString()),
                args("sample", "--ckpt", truncatedCheckpoint(truncated).toString()),
                args("sample", "--ckpt", foreignDir.toString()),
                args("sample", "--ckpt", run.toString(), "--prompt", "café"),
                args("sample", "--ckpt", run.toString(), "--temperature", "0"),
                args("sample", "--ckpt", run.toString(), "--top-k", "0"),
                args("sample", "--ckpt", run.toString(), "--top-k", "66"),
                args("sample", "--ckpt", run.toString(), "--tokens", "-1"),
                args("eval", "--ckpt", run.toString(), "--eval-iters", "0", "--data", data),
                args("info", "--ckpt", notZip.toString()),
                args("compare", "--stages", "cpu", "--data", data),
                args("compare", "--stages", "bigram", "--max-iters", "0", "--data", data,
                        "--out", tmp.resolve("c0").toString()),
                args("compare", "--notebooks", tmp.resolve("no-results").toString()),
                args("compare", "--notebooks", foreignDir.toString()))
                .map(a -> Arguments.of((Object) a));
    }

    /**
     * A run directory has one trainer: a second one, from another process, is refused with a line naming the first,
     * and damages nothing; sample and eval read the last complete checkpoint meanwhile; once the first is killed
     * (SIGKILL), the run resumes: no stale lock is left behind.
     */
    @Test
    void aSecondTrainerIsRefusedWhileReadersKeepWorkingAndAKillLeavesNoStaleLock() throws Exception {
        Path dir = tmp.resolve("busy");
        Process first = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "train",
                "--preset", "head", "--max-iters", "10000000", "--eval-interval", "200", "--eval-iters", "2",
                "--out", dir.toString(), "--data", TestData.source(), "--sample-tokens", "0")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("busy.log").toFile()).start();
        try {
            long deadline = System.currentTimeMillis() + 120_000;
            while (!Files.exists(dir.resolve(Checkpoint.FILE_NAME)) && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(first.isAlive(), Files.readString(tmp.resolve("busy.log")));
            byte[] config = Files.readAllBytes(dir.resolve("config.json"));
            for (String mode : new String[]{"--resume", "--force"}) {
                Result r = cli("train", "--preset", "head", "--out", dir.toString(), mode, "--data", TestData.source(),
                        "--sample-tokens", "0");
                assertEquals(1, r.code(), r.out() + r.err());
                assertEquals(1, r.err().lines().count(), r.err());
                assertTrue(r.err().startsWith("error: " + dir + " is being trained by process " + first.pid() + " on "),
                        r.err());
            }
            assertTrue(java.util.Arrays.equals(config, Files.readAllBytes(dir.resolve("config.json"))), "untouched");
            Result s = cli("sample", "--ckpt", dir.toString(), "--tokens", "20");
            assertEquals(0, s.code(), s.err());
            Result e = cli("eval", "--ckpt", dir.toString(), "--eval-iters", "2", "--data", TestData.source());
            assertEquals(0, e.code(), e.err());
        } finally {
            first.destroyForcibly();   // SIGKILL
            first.waitFor();
        }
        int at = Checkpoint.load(dir).step();
        Result resumed = cli("train", "--out", dir.toString(), "--resume", "--max-iters", String.valueOf(at + 3),
                "--data", TestData.source(), "--sample-tokens", "0");
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.out().contains("done: step " + (at + 3)), resumed.out());
    }

    /** A copy of the trained checkpoint with entries replaced (null: removed) and others added. */
    static Path crafted(String name, java.util.function.BiFunction<String, byte[], byte[]> change,
                        java.util.Map<String, byte[]> extra) throws Exception {
        Path out = tmp.resolve(name);
        try (var in = new java.util.zip.ZipInputStream(new java.io.ByteArrayInputStream(checkpointBytes));
             var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(out))) {
            for (var e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                byte[] b = change.apply(e.getName(), in.readAllBytes());
                if (b != null) {
                    zip.putNextEntry(new java.util.zip.ZipEntry(e.getName()));
                    zip.write(b);
                    zip.closeEntry();
                }
            }
            for (var e : extra.entrySet()) {
                zip.putNextEntry(new java.util.zip.ZipEntry(e.getKey()));
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
        return out;
    }

    static java.util.function.BiFunction<String, byte[], byte[]> replace(String entry, byte[] with) {
        return (n, b) -> n.equals(entry) ? with : b;
    }

    static byte[] npy(float[] values, long... shape) {
        return dev.letsbuildgpt.train.Npy.write(values, shape);
    }

    /** The checkpoints a user could be handed: each one is refused with one line, in bounded memory. */
    static Stream<Path> craftedCheckpoints() throws Exception {
        String table = "params/token_embedding_table.weight.npy";
        float[] nan = new float[65 * 32];
        nan[100] = Float.NaN;
        // A header claiming a [2^30, 2^30] array (4 EiB) in front of no data at all.
        byte[] hugeHeader = npy(new float[0], 1L << 30, 1L << 30);
        return Stream.of(
                crafted("huge-header.zip", replace(table, hugeHeader), java.util.Map.of()),
                crafted("huge-model.zip", (n, b) -> n.equals("config.json")
                        ? new String(b, StandardCharsets.UTF_8).replaceFirst("\"n_embd\" : 32", "\"n_embd\" : 16000000")
                        .replaceFirst("\"n_head\" : 4", "\"n_head\" : 4").getBytes(StandardCharsets.UTF_8) : b,
                        java.util.Map.of()),
                crafted("oversized-entry.zip", replace(table, java.util.Arrays.copyOf(npy(new float[65 * 32], 65, 32),
                        200 << 20)), java.util.Map.of()),
                crafted("nan-weights.zip", replace(table, npy(nan, 65, 32)), java.util.Map.of()),
                crafted("config-disagrees.zip", (n, b) -> n.equals("config.json")
                        ? new String(b, StandardCharsets.UTF_8).replaceFirst("\"n_embd\" : 32", "\"n_embd\" : 64")
                        .getBytes(StandardCharsets.UTF_8) : b, java.util.Map.of()),
                crafted("missing-array.zip", replace("params/lm_head.bias.npy", null), java.util.Map.of()),
                crafted("unknown-array.zip", (n, b) -> b, java.util.Map.of("params/evil.weight.npy", npy(new float[4], 4))),
                crafted("wrong-dtype.zip", replace(table, new String(npy(new float[65 * 32], 65, 32),
                        StandardCharsets.ISO_8859_1).replace("<f4", "<f8").getBytes(StandardCharsets.ISO_8859_1)),
                        java.util.Map.of()));
    }

    @ParameterizedTest
    @MethodSource("craftedCheckpoints")
    void aCraftedCheckpointIsRefusedWithOneLineInBoundedMemory(Path ckpt) throws Exception {
        for (String[] command : new String[][]{{"sample", "--tokens", "5"}, {"info"}}) {
            long before = usedHeap();
            List<String> a = new ArrayList<>(List.of(command));
            a.addAll(List.of("--ckpt", ckpt.toString()));
            Result r = cli(a.toArray(String[]::new));
            long grew = usedHeap() - before;
            assertEquals(1, r.code(), command + " " + ckpt.getFileName() + ": " + r.err());
            List<String> lines = r.err().lines().toList();
            assertEquals(1, lines.size(), r.err());
            assertTrue(lines.get(0).startsWith("error: checkpoint " + ckpt), lines.get(0));
            assertFalse(r.err().contains("Exception"), r.err());
            assertTrue(grew < 64 << 20, ckpt.getFileName() + " made the heap grow by " + (grew >> 20) + " MB");
            System.out.println(command[0] + " " + ckpt.getFileName() + ": " + lines.get(0));
        }
    }

    private static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        return rt.totalMemory() - rt.freeMemory();
    }

    private static Path truncatedCheckpoint(Path target) throws Exception {
        Files.write(target, java.util.Arrays.copyOf(checkpointBytes, checkpointBytes.length / 2));
        return target;
    }

    @Test
    void aLossThatBecomesNaNStopsTheRunNamingTheStepAndKeepsTheLastGoodCheckpoint() {
        Path dir = tmp.resolve("nan");
        Result r = cli("train", "--preset", "bigram", "--learning-rate", "1e30", "--max-iters", "20", "--eval-interval",
                "10", "--eval-iters", "2", "--out", dir.toString(), "--data", TestData.source(), "--sample-tokens", "0");
        assertEquals(1, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().matches("error: the loss became (NaN|-?Infinity) at step [1-9]\\d*; stopping, and keeping the"
                + " last good checkpoint\\..*\\s*"), r.err());
        Checkpoint last = Checkpoint.load(dir);
        assertEquals(0, last.step());
        for (float[] a : last.params().values()) {
            for (float x : a) {
                assertTrue(Float.isFinite(x), "the kept checkpoint holds finite parameters");
            }
        }
    }

    @Test
    void aFullDiskStopsTheRunAndKeepsThePreviousCheckpoint() throws Exception {
        Path dir = tmp.resolve("full-disk");
        String[] base = {"train", "--preset", "head", "--max-iters", "4", "--eval-interval", "2", "--eval-iters", "1",
                "--out", dir.toString(), "--data", TestData.source(), "--sample-tokens", "0"};
        assertEquals(0, cli(base).code());
        byte[] before = Files.readAllBytes(dir.resolve(Checkpoint.FILE_NAME));
        // The checkpoint's temporary file goes to /dev/full, where every write fails with "No space left on device".
        // (this process's temporary name: AtomicFiles.tempFor)
        Files.createSymbolicLink(dir.resolve(Checkpoint.FILE_NAME + "." + ProcessHandle.current().pid() + ".tmp"),
                Path.of("/dev/full"));
        String[] more = java.util.Arrays.copyOf(base, base.length + 1);
        more[more.length - 1] = "--resume";
        more[4] = "8";   // --max-iters 8
        Result r = cli(more);
        assertEquals(1, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("error: cannot write checkpoint") && r.err().contains("previous checkpoint is kept"),
                r.err());
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(dir.resolve(Checkpoint.FILE_NAME))));
        assertEquals(4, Checkpoint.load(dir).step());
    }

    @Test
    void compareTrainsEachStageAndSetsItBesideTheLecture() throws Exception {
        Path out = tmp.resolve("compare");
        Result r = cli("compare", "--stages", "bigram,head", "--max-iters", "12", "--out", out.toString(),
                "--data", TestData.source());
        assertEquals(0, r.code(), r.err());
        List<String> table = r.out().lines().dropWhile(l -> !l.startsWith("source")).toList();
        assertTrue(table.get(1).matches("compare +bigram +bigram model +4,225 +12 +~2\\.49 +2\\.4886 .*"), table.get(1));
        assertTrue(table.get(2).matches("compare +head +one self-attention head +7,553 +12 +~2\\.40 +2\\.4096 .*"), table.get(2));
        assertTrue(Files.readString(out.resolve("compare.md")).startsWith("| source | preset | stage |"));
        assertTrue(Files.exists(out.resolve("bigram").resolve(Checkpoint.FILE_NAME)));
    }

    @Test
    void compareTabulatesWhatTheNotebooksRecorded() throws Exception {
        Path results = tmp.resolve("results");
        Comparison.record(results, new Comparison.Row("09-deep-networks", "notebook", 209_729, 5000, 1.66, 1.8231, 900, "x"));
        Comparison.record(results, new Comparison.Row("05-training-loop", "bigram", 4_225, 3000, 2.46, 2.4823, 19, "y"));
        Result r = cli("compare", "--notebooks", results.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(3, lines.size(), r.out());
        assertTrue(lines.get(1).matches("05-training-loop +bigram .* ~2\\.49 +2\\.4886 +2\\.4823 +-0\\.0077 .*"), lines.get(1));
        assertTrue(lines.get(2).matches("09-deep-networks +notebook .* 1\\.8222 +1\\.8139 +1\\.8231 +\\+0\\.0009 .*15 min 00 s"),
                lines.get(2));
    }

    @ParameterizedTest
    @MethodSource("badInputs")
    void aBadInputGetsOneClearLineAndANonZeroExitAndDamagesNothing(String[] args) throws Exception {
        Result r = cli(args);
        assertNotEquals(0, r.code(), "exit code for " + String.join(" ", args));
        List<String> lines = r.err().lines().toList();
        assertEquals(1, lines.size(), "one line on stderr, got: " + r.err());
        assertTrue(lines.get(0).startsWith("error: "), lines.get(0));
        assertFalse(r.err().contains("Exception"), r.err());
        assertTrue(java.util.Arrays.equals(checkpointBytes, Files.readAllBytes(run.resolve(Checkpoint.FILE_NAME))),
                "the trained checkpoint is untouched");
    }
}
