package dev.letsbuildgpt.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.letsbuildgpt.AtomicFiles;
import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.bench.BenchConfig;
import dev.letsbuildgpt.bench.Benchmark;
import dev.letsbuildgpt.bench.MatmulPeak;
import dev.letsbuildgpt.bench.OpenBlasKernels;
import dev.letsbuildgpt.bench.Report;
import dev.letsbuildgpt.bench.TorchReference;
import dev.letsbuildgpt.model.Backend;
import dev.letsbuildgpt.train.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Training and sampling speed and peak memory beside the PyTorch reference, on this machine.",
                "Each configuration runs in a fresh JVM, then in PyTorch (torch_gpt_bench.py); prints tables and"
                        + " writes bench.json."})
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--config", split = ",", defaultValue = "T,A,B", paramLabel = "T|A|B",
            description = "Configurations, comma-separated (default: ${DEFAULT-VALUE})")
    List<BenchConfig> configs;

    @Option(names = "--steps", paramLabel = "N", description = "Timed training steps (default: per configuration T/A/B, 100/40/3)")
    Integer steps;

    @Option(names = "--warmup", paramLabel = "N", description = "Warm-up steps (default: per configuration T/A/B, 100/20/1)")
    Integer warmup;

    @Option(names = "--rounds", defaultValue = "2", paramLabel = "N",
            description = "Alternating rounds of Java and PyTorch per configuration; each side's best is kept, with"
                    + " the spread (default: ${DEFAULT-VALUE})")
    int rounds;

    @Option(names = "--shards", paramLabel = "N", description = "Shards per batch on the fast path (default: the run's, 4)")
    Integer shards;

    @Option(names = "--out", defaultValue = "target/bench", paramLabel = "DIR",
            description = "Where bench.json goes (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--torch-script", paramLabel = "PATH",
            description = "The PyTorch reference (default: $GPT_TORCH_BENCH, else " + TorchReference.DEFAULT_SCRIPT + ")")
    Path torchScript;

    @Option(names = "--python", defaultValue = "/usr/bin/python3", paramLabel = "PATH",
            description = "Python with torch (default: ${DEFAULT-VALUE})")
    String python;

    @Option(names = "--no-torch", description = "Measure only the Java side")
    boolean noTorch;

    @Option(names = "--child", hidden = true, description = "Measure one configuration in this JVM (internal)")
    boolean child;

    @Mixin
    Common.DataOption data = new Common.DataOption();

    @Override
    public Integer call() throws Exception {
        Files.createDirectories(out);
        if (child) {
            BenchConfig c = configs.get(0);
            String text = data.load();
            ObjectNode r = Benchmark.run(c, text, warmupOf(c), stepsOf(c), shards, line -> System.err.println("  " + line));
            AtomicFiles.write(javaResult(c), Json.SNAKE.writeValueAsBytes(r));
            return 0;
        }
        Path input = out.resolve("input.txt");
        Files.writeString(input, data.load(), StandardCharsets.UTF_8);
        System.out.println(Common.backend() + "; " + Backend.threads() + " thread(s)");
        TorchReference torch = new TorchReference(torchScript != null ? torchScript
                : Path.of(System.getenv().getOrDefault("GPT_TORCH_BENCH", TorchReference.DEFAULT_SCRIPT)), python);
        String missing = noTorch ? "--no-torch" : torch.unavailable();
        if (missing != null) {
            System.out.println("PyTorch reference skipped: " + missing);
        }
        if (rounds < 1) {
            throw new GptException("--rounds must be at least 1");
        }
        int cores = Runtime.getRuntime().availableProcessors();
        // PyTorch at its best: on the OpenBLAS kernels it multiplies fastest with here (Debian's OpenBLAS picks slow
        // generic ones on CPUs newer than it, as ND4J's does).
        ObjectNode torchKernels = null;
        if (missing == null) {
            torchKernels = torch.chooseCoreType();
            StringBuilder tried = new StringBuilder();
            for (var it = torchKernels.fields(); it.hasNext(); ) {
                var f = it.next();
                if (f.getValue().isObject()) {
                    tried.append(tried.length() == 0 ? "" : ", ").append(f.getKey()).append(' ')
                            .append(f.getValue().path("usable").asBoolean() ? f.getValue().path("gflops").asText()
                                    + " GFLOP/s" : "(not usable: loaded " + f.getValue().path("loaded").asText() + ")");
                }
            }
            System.out.println("PyTorch's OpenBLAS kernels, one core: " + tried + "; it runs with OPENBLAS_CORETYPE="
                    + torch.coreType());
        }
        // MFU against the machine's fastest float32 matmul: ND4J's OpenBLAS and PyTorch's, at two sizes, measured
        // before the configurations and again after them: a moment of contention (these are shared machines) can
        // halve one measurement, and MFU against it would be overstated.
        ObjectNode start = matmulPeaks(cores, missing == null ? torch : null);
        System.out.println("matmul peak (sgemm, " + cores + " cores), before: " + describe(start));

        List<List<ObjectNode>> javaRoundsOf = new ArrayList<>();
        List<List<ObjectNode>> torchRoundsOf = new ArrayList<>();
        for (BenchConfig c : configs) {
            List<ObjectNode> javaRounds = new ArrayList<>();
            List<ObjectNode> torchRounds = new ArrayList<>();
            for (int round = 1; round <= rounds; round++) {
                String of = rounds > 1 ? " (round " + round + " of " + rounds + ")" : "";
                System.out.println(c + ": Java" + of + ", " + warmupOf(c) + " warm-up + " + stepsOf(c) + " steps");
                javaRounds.add(runChild(c, input));
                if (missing == null) {
                    System.out.println(c + ": PyTorch" + of + ", lecture and nanoGPT styles, key/value cache");
                    torchRounds.add(torch.run(c, input.toAbsolutePath(), warmupOf(c), stepsOf(c)));
                }
            }
            javaRoundsOf.add(javaRounds);
            torchRoundsOf.add(torchRounds);
        }
        ObjectNode end = matmulPeaks(cores, missing == null ? torch : null);
        System.out.println("matmul peak, after: " + describe(end));
        ObjectNode peaks = higherOf(start, end);
        double peak = peaks.get("best").asDouble();
        double nd4jPeak = Math.max(peaks.get("nd4j_1024").asDouble(), peaks.get("nd4j_2048").asDouble());
        double moved = Math.abs(start.get("best").asDouble() - end.get("best").asDouble()) / peak;
        System.out.printf("MFU against the higher: %.1f GFLOP/s (%s)%n", peak, peaks.get("best_by").asText());
        if (moved > 0.15) {
            System.out.printf("note: the machine's matmul speed moved by %.0f %% during the run; its speed was not"
                    + " steady, so read this run's figures with care%n", 100 * moved);
        }
        List<ObjectNode> entries = new ArrayList<>();
        for (int i = 0; i < configs.size(); i++) {
            entries.add(Report.summarize(configs.get(i).name(), javaRoundsOf.get(i), torchRoundsOf.get(i), peak,
                    nd4jPeak));
        }
        System.out.println();
        System.out.print(Report.table(entries));

        ObjectNode doc = Json.SNAKE.createObjectNode();
        doc.put("date", Instant.now().toString());
        doc.put("rounds", rounds);
        ObjectNode machine = machine(cores, peaks);
        if (torchKernels != null) {
            machine.put("torch_openblas_coretype", torch.coreType());
            machine.set("torch_openblas_coretypes", torchKernels);
        }
        doc.set("machine", machine);
        ArrayNode results = doc.putArray("results");
        entries.forEach(results::add);
        Path json = out.resolve("bench.json");
        AtomicFiles.write(json, Json.SNAKE.writerWithDefaultPrettyPrinter().writeValueAsBytes(doc));
        System.out.println("\nwrote " + json);
        return 0;
    }

    /**
     * GFLOP/s of square sgemms on every core: ND4J's at 1024^3 and 2048^3 (and 1024^3 on one thread), PyTorch's at
     * both sizes where {@code torch} is given; {@code best} and {@code best_by}: the fastest on every core.
     */
    private static ObjectNode matmulPeaks(int cores, TorchReference torch) throws IOException, InterruptedException {
        ObjectNode peaks = Json.SNAKE.createObjectNode();
        for (int n : new int[]{1024, 2048}) {
            peaks.put("nd4j_" + n, Benchmark.round(MatmulPeak.gflops(cores, n), 1));
        }
        peaks.put("nd4j_1024_1_thread", Benchmark.round(MatmulPeak.gflops(1, 1024), 1));
        if (torch != null) {
            ObjectNode tp = torch.matmulPeak(1024, 2048);
            peaks.put("torch_1024", tp.get("1024").asDouble());
            peaks.put("torch_2048", tp.get("2048").asDouble());
        }
        return best(peaks);
    }

    /** Each figure the higher of the two measurements, with both kept ({@code before}, {@code after}). */
    static ObjectNode higherOf(ObjectNode before, ObjectNode after) {
        ObjectNode peaks = Json.SNAKE.createObjectNode();
        for (var it = before.fields(); it.hasNext(); ) {
            var f = it.next();
            if (f.getValue().isNumber() && !f.getKey().equals("best")) {
                peaks.put(f.getKey(), Math.max(f.getValue().asDouble(), after.path(f.getKey()).asDouble()));
            }
        }
        best(peaks);
        peaks.set("before", before);
        peaks.set("after", after);
        return peaks;
    }

    /** Adds {@code best} and {@code best_by}: the fastest figure on every core (not the one-thread one). */
    private static ObjectNode best(ObjectNode peaks) {
        String bestBy = "nd4j_1024";
        for (var it = peaks.fields(); it.hasNext(); ) {
            var f = it.next();
            if (f.getValue().isNumber() && !f.getKey().endsWith("1_thread")
                    && f.getValue().asDouble() > peaks.get(bestBy).asDouble()) {
                bestBy = f.getKey();
            }
        }
        double best = peaks.get(bestBy).asDouble();
        peaks.put("best", best);
        peaks.put("best_by", bestBy);
        return peaks;
    }

    private static String describe(ObjectNode p) {
        return String.format("ND4J %.1f GFLOP/s at 1024^3, %.1f at 2048^3%s; the machine's: %.1f (%s)",
                p.get("nd4j_1024").asDouble(), p.get("nd4j_2048").asDouble(), p.has("torch_1024")
                        ? String.format(", PyTorch %.1f and %.1f", p.get("torch_1024").asDouble(),
                        p.get("torch_2048").asDouble()) : "", p.get("best").asDouble(), p.get("best_by").asText());
    }

    private int stepsOf(BenchConfig c) {
        return steps != null ? steps : c.steps;
    }

    private int warmupOf(BenchConfig c) {
        return warmup != null ? warmup : c.warmup;
    }

    private Path javaResult(BenchConfig c) {
        return out.resolve("java-" + c + ".json");
    }

    /** One configuration in a fresh JVM with this JVM's options, so its peak memory is its own. */
    private ObjectNode runChild(BenchConfig c, Path input) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "bench", "--child",
                "--config", c.name(), "--data", input.toString(), "--out", out.toString(),
                "--steps", String.valueOf(stepsOf(c)), "--warmup", String.valueOf(warmupOf(c))));
        if (shards != null) {
            cmd.addAll(List.of("--shards", String.valueOf(shards)));
        }
        Files.deleteIfExists(javaResult(c));
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        if (p.waitFor() != 0 || !Files.exists(javaResult(c))) {
            throw new GptException("the Java benchmark of config " + c + " failed (exit " + p.exitValue() + ")");
        }
        return (ObjectNode) Json.SNAKE.readTree(Files.readAllBytes(javaResult(c)));
    }

    private static ObjectNode machine(int cores, ObjectNode peaks) throws IOException {
        ObjectNode m = Json.SNAKE.createObjectNode();
        String cpu = OpenBlasKernels.cpuInfo("model name");
        m.put("cpu", cpu.isEmpty() ? "?" : cpu);
        m.put("cores", cores);
        m.put("memory_gb", Math.round(((com.sun.management.OperatingSystemMXBean)
                ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize() / 1e9));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        m.put("jvm_options", String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()));
        m.put("backend", Common.backend().replaceFirst("^backend: ", ""));
        m.put("threads", Backend.threads());
        m.put("openblas_coretype", System.getenv().getOrDefault("OPENBLAS_CORETYPE", "unset"));
        m.put("omp_num_threads", System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"));
        m.put("matmul_peak_gflops", peaks.get("best").asDouble());
        m.set("matmul_peaks_gflops", peaks);
        return m;
    }
}
