package dev.letsbuildgpt.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.bench.OpenBlasKernels;
import dev.letsbuildgpt.AtomicFiles;
import dev.letsbuildgpt.train.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code gpt blas}: which OpenBLAS kernels to run on this CPU. Each candidate core type ({@link
 * OpenBlasKernels#candidates}) is checked and timed in a JVM of its own, started with that OPENBLAS_CORETYPE, in
 * alternating rounds. The first (Haswell's, the safe default) is the choice unless a later one that computed every
 * product correctly is {@link #MARGIN} faster than the choice so far. The Makefile runs it once per CPU
 * (make openblas).
 */
@Command(name = "blas", mixinStandardHelpOptions = true,
        description = {"Check which of OpenBLAS's kernels (OPENBLAS_CORETYPE) multiply correctly on this CPU and how"
                + " fast, and choose one: Haswell's, unless kernels that computed every product correctly are at least"
                + " 10%% faster. Takes under a minute. The Makefile runs it once per CPU (make openblas)."})
final class BlasCommand implements Callable<Integer> {
    /** How much faster than the default a core type must be to be chosen: more than these machines' noise. */
    static final double MARGIN = 1.10;

    @Option(names = "--write", paramLabel = "FILE",
            description = "Write the chosen core type's name (one line) to FILE")
    Path write;

    @Option(names = "--rounds", defaultValue = "2", paramLabel = "N",
            description = "Alternating rounds per candidate, best kept (default: ${DEFAULT-VALUE})")
    int rounds;

    @Option(names = "--probe", hidden = true, description = "Check and time this JVM's kernels (internal)")
    boolean probe;

    @Override
    public Integer call() throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        if (probe) {
            System.out.println(Json.SNAKE.writeValueAsString(OpenBlasKernels.probe(cores, true)));
            return 0;
        }
        if (rounds < 1) {
            throw new GptException("--rounds must be at least 1, got " + rounds);
        }
        List<String> candidates = OpenBlasKernels.candidates(OpenBlasKernels.cpuFlags());
        String cpu = OpenBlasKernels.cpuInfo("model name");
        if (candidates.isEmpty()) {
            System.out.println("blas: " + cpu + " has no AVX2 and FMA: OpenBLAS's own choice (OPENBLAS_CORETYPE unset)");
            writeChoice("");
            return 0;
        }
        System.out.printf("blas: %s, %d cores; checking %s (%d rounds each, alternating; a minute or so)%n", cpu,
                cores, String.join(", ", candidates), rounds);
        Map<String, Probe> best = new LinkedHashMap<>();
        for (int round = 1; round <= rounds; round++) {
            for (String c : candidates) {
                Probe p = probe(c);
                System.out.printf("  round %d, %-10s %s%n", round, c, p.describe());
                best.merge(c, p, (a, b) -> a.score() >= b.score() ? a : b);
            }
        }
        // In the candidates' order (the safe default first), a later one replaces the choice only if it is MARGIN
        // faster than it: kernels alike in speed (SkylakeX's and Cooperlake's products are the same here) keep the
        // earlier, whatever the noise of the moment says.
        String base = candidates.get(0);
        String chosen = base;
        for (Map.Entry<String, Probe> e : best.entrySet()) {
            Probe p = e.getValue();
            if (p.usable() && p.score() >= MARGIN * best.get(chosen).score()) {
                chosen = e.getKey();
            }
        }
        if (!best.get(base).usable()) {
            throw new GptException("OpenBLAS's " + base + " kernels failed the check on this CPU: "
                    + best.get(base).describe() + "; set OPENBLAS_CORETYPE yourself, or report it");
        }
        System.out.printf("blas: OPENBLAS_CORETYPE=%s (%s)%n", chosen, chosen.equals(base)
                ? "no other kernels checked correct and " + Math.round((MARGIN - 1) * 100) + "% faster here"
                : String.format("%.2fx Haswell's speed on this project's products, and every product checked correct",
                        best.get(chosen).score() / best.get(base).score()));
        writeChoice(chosen);
        return 0;
    }

    private void writeChoice(String coreType) throws IOException {
        if (write != null) {
            AtomicFiles.write(write, (coreType + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }

    /** What a candidate's JVM reported, and the core OpenBLAS said it loaded. */
    record Probe(String requested, String loaded, boolean notFound, int exit, ObjectNode result) {
        /**
         * Whether the kernels it loaded multiplied every product correctly. A name this OpenBLAS does not take (0.3.19
         * does not take "Cooperlake") makes it choose by the CPU's features instead, and the probe checked what that
         * loaded: the same name loads the same kernels on this CPU, which is all a choice here is kept for.
         */
        boolean usable() {
            return exit == 0 && !loaded.equals("?") && result != null && result.path("correct").asBoolean(false);
        }

        /** The geometric mean of the two presets' GFLOP/s (0 when unusable). */
        double score() {
            return usable() ? Math.sqrt(result.path("cpu_gflops").asDouble() * result.path("gpt_gflops").asDouble()) : 0;
        }

        String describe() {
            if (exit != 0 || result == null) {
                return "crashed (exit " + exit + ")";
            }
            String kernels = notFound || !requested.equalsIgnoreCase(loaded)
                    ? " (a name this OpenBLAS does not take: it chose " + loaded + "'s kernels by the CPU's features)"
                    : "";
            if (loaded.equals("?")) {
                return "OpenBLAS did not say which kernels it loaded";
            }
            if (!result.path("correct").asBoolean(false)) {
                return "WRONG: " + result.path("failures").path(0).asText() + kernels;
            }
            return String.format("correct (%,d products checked), %.1f GFLOP/s per core on cpu's products, %.1f on"
                    + " gpt's%s", result.path("products").asLong(), result.path("cpu_gflops").asDouble(),
                    result.path("gpt_gflops").asDouble(), kernels);
        }
    }

    private static final Pattern CORE = Pattern.compile("^Core: (\\S+)", Pattern.MULTILINE);

    /** A JVM like this one (its options and class path) probing {@code coreType}'s kernels. */
    private static Probe probe(String coreType) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "blas", "--probe"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("OPENBLAS_CORETYPE", coreType);
        pb.environment().put("OPENBLAS_VERBOSE", "2");   // OpenBLAS then says which core it loaded
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.redirectError(ProcessBuilder.Redirect.PIPE);
        Process p = pb.start();
        byte[][] err = new byte[1][];
        Thread drain = new Thread(() -> {
            try {
                err[0] = p.getErrorStream().readAllBytes();
            } catch (IOException e) {
                err[0] = new byte[0];
            }
        });
        drain.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = p.waitFor();
        drain.join();
        String stderr = new String(err[0], StandardCharsets.UTF_8);
        String loaded = "?";
        for (Matcher m = CORE.matcher(stderr); m.find(); ) {
            loaded = m.group(1);
        }
        ObjectNode result = null;
        int json = out.indexOf('{');   // the probe prints one JSON object, after whatever ND4J prints
        if (exit == 0 && json >= 0) {
            result = (ObjectNode) Json.SNAKE.readTree(out.substring(json));
        }
        return new Probe(coreType, loaded, stderr.contains("Core not found"), exit, result);
    }
}
