package dev.letsbuildgpt.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.train.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The PyTorch reference ({@code torch_gpt_bench.py}: the same architecture in PyTorch, in the lecture's style and in
 * nanoGPT's), run as child processes on the same machine, at its own best setting (see {@link #bestEnvironment}).
 */
public final class TorchReference {
    /** Where the reference script is in this project's CI layout; {@code GPT_TORCH_BENCH} overrides it. */
    public static final String DEFAULT_SCRIPT = "../shared/reference/torch_gpt_bench.py";
    private final Path script;
    private final String python;
    /** The OPENBLAS_CORETYPE PyTorch runs with (null: none), set by {@link #chooseCoreType}. */
    private String coreType;

    public TorchReference(Path script, String python) {
        this.script = script;
        this.python = python;
    }

    /** Why the reference cannot run here, or null when it can. */
    public String unavailable() {
        if (!Files.isRegularFile(script)) {
            return "no PyTorch reference script at " + script;
        }
        try {
            Process p = new ProcessBuilder(python, "-c", "import torch").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return python + " cannot import torch (Debian: apt-get install python3-torch libopenblas0-pthread)";
            }
        } catch (IOException e) {
            return "no " + python + " (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
        return null;
    }

    /**
     * One round of the reference on one configuration, PyTorch at its best and in the lecture's style: training and
     * uncached sampling in both styles ({@code lecture}, a module per head; {@code nanogpt}, fused q/k/v and batched
     * heads), sampling with nanoGPT's key/value cache, and a {@link Benchmark#LONG_SAMPLE_TOKENS}-token sample with
     * the cache (then the cropped window) and with the lecture's generate. Each in its own process.
     */
    public ObjectNode run(BenchConfig c, Path data, int warmup, int steps) {
        ObjectNode r = Json.SNAKE.createObjectNode();
        r.set("lecture", run(c, data, "lecture", false, warmup, steps, c.sampleTokens()));
        r.set("nanogpt", run(c, data, "nanogpt", false, warmup, steps, c.sampleTokens()));
        // The sampling runs train one step only: the script times its training before it samples.
        r.set("nanogpt_kv_cache", run(c, data, "nanogpt", true, 0, 1, c.sampleTokens()));
        r.set("long_kv_cache", run(c, data, "nanogpt", true, 0, 1, Benchmark.LONG_SAMPLE_TOKENS));
        r.set("long_lecture", run(c, data, "lecture", false, 0, 1, Benchmark.LONG_SAMPLE_TOKENS));
        return r;
    }

    /**
     * Finds the OpenBLAS kernels PyTorch multiplies fastest with on this CPU, and uses them from then on: PyTorch at
     * its best. Debian's OpenBLAS 0.3.21 picks slow generic kernels by itself on CPUs it does not know (on an Intel
     * Xeon of 2023: 15 GFLOP/s on one core, against 96 with SkylakeX's), as ND4J's older one does. Each candidate (none
     * set, then {@link OpenBlasKernels#candidates}) runs in its own process: single-threaded products of a 1024^3 and
     * of this project's training sizes, checked against a double-precision product; the fastest correct one is kept,
     * with the kernels OpenBLAS says it loaded (OPENBLAS_VERBOSE=2). Returns what each did.
     */
    public ObjectNode chooseCoreType() {
        String py = """
                import json, os, time, torch
                torch.set_num_threads(1)
                g = torch.Generator().manual_seed(0)
                ok, flops, seconds = True, 0.0, 0.0
                for m, n, k in ((1024, 1024, 1024), (4096, 1152, 384), (384, 1152, 4096), (192, 384, 128)):
                    a, b = torch.rand(m, k, generator=g) - 0.5, torch.rand(k, n, generator=g) - 0.5
                    c = a @ b
                    bound = 2 * (k + 2) * 2.0 ** -24 * (a.abs().double() @ b.abs().double())
                    ok = ok and bool(((c.double() - a.double() @ b.double()).abs() <= bound).all())
                    reps = max(1, int(4e8 / (2 * m * n * k)))
                    best = float("inf")
                    for _ in range(4):
                        t = time.perf_counter()
                        for _ in range(reps):
                            torch.mm(a, b)
                        best = min(best, (time.perf_counter() - t) / reps)
                    flops, seconds = flops + 2 * m * n * k, seconds + best
                print(json.dumps({"correct": ok, "gflops": round(flops / seconds / 1e9, 1)}))
                """;
        ObjectNode tried = Json.SNAKE.createObjectNode();
        double best = 0;
        List<String> candidates = new java.util.ArrayList<>();
        candidates.add(null);
        candidates.addAll(OpenBlasKernels.candidates(OpenBlasKernels.cpuFlags()));
        for (String c : candidates) {
            ProcessBuilder pb = new ProcessBuilder(python, "-c", py).redirectErrorStream(true);
            environment(pb, c);
            pb.environment().put("OPENBLAS_VERBOSE", "2");   // OpenBLAS then says which kernels it loaded
            String name = c == null ? "unset" : c;
            ObjectNode r = Json.SNAKE.createObjectNode();
            try {
                Process p = pb.start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^Core: (\\S+)").matcher(out);
                String loaded = m.find() ? m.group(1) : "?";
                r.put("loaded", loaded);
                int json = out.indexOf('{');
                if (p.waitFor() == 0 && json >= 0) {
                    r.setAll((ObjectNode) Json.SNAKE.readTree(out.substring(json)));
                }
                // A name this OpenBLAS does not take makes it fall back to choosing by the CPU's features, which
                // loads other kernels than it picks with no name set (on the Intel Xeon: Cooperlake's, not
                // Prescott's); what counts is that the kernels it loaded multiplied correctly, and how fast.
                boolean usable = r.path("correct").asBoolean(false) && !loaded.equals("?");
                r.put("usable", usable);
                if (usable && r.path("gflops").asDouble() > best) {
                    best = r.path("gflops").asDouble();
                    tried.put("chosen", name);
                }
            } catch (IOException e) {
                r.put("error", e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new GptException("interrupted");
            }
            tried.set(name, r);
        }
        String chosen = tried.path("chosen").asText("unset");
        coreType = chosen.equals("unset") ? null : chosen;
        return tried;
    }

    /** The OPENBLAS_CORETYPE PyTorch runs with: what {@link #chooseCoreType} chose, else "unset". */
    public String coreType() {
        return coreType == null ? "unset" : coreType;
    }

    /**
     * PyTorch's fastest float32 matmul here (GFLOP/s of an n x n x n torch.mm, best of 5, every core), for MFU
     * against the machine rather than against ND4J's own BLAS.
     */
    public ObjectNode matmulPeak(int... sizes) {
        String py = """
                import json, sys, time, torch
                out = {"threads": torch.get_num_threads()}
                for n in map(int, sys.argv[1:]):
                    a, b = torch.rand(n, n), torch.rand(n, n)
                    times = []
                    for _ in range(6):
                        t = time.perf_counter()
                        torch.mm(a, b)
                        times.append(time.perf_counter() - t)
                    out[str(n)] = round(2 * n ** 3 / min(times[1:]) / 1e9, 1)   # the first pays for page faults
                print(json.dumps(out))
                """;
        List<String> cmd = new java.util.ArrayList<>(List.of(python, "-c", py));
        for (int n : sizes) {
            cmd.add(String.valueOf(n));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        bestEnvironment(pb);
        // A lone product: OpenBLAS's own threads, one per core, are its fastest.
        pb.environment().put("OPENBLAS_NUM_THREADS", String.valueOf(Runtime.getRuntime().availableProcessors()));
        return (ObjectNode) readLastLine(pb, "PyTorch's matmul peak");
    }

    /**
     * The environment PyTorch is fastest in here: OpenBLAS limited to one thread inside PyTorch's own threading
     * (letting it start threads oversubscribes the cores; the script sets PyTorch's threads, one per core, so the
     * OMP_NUM_THREADS=1 the Makefile sets for ND4J is dropped), the kernels {@link #chooseCoreType} found fastest
     * (none named before it ran), and without the OPENBLAS_L2_SIZE that some machines set to protect older OpenBLAS
     * builds.
     */
    private void bestEnvironment(ProcessBuilder pb) {
        environment(pb, coreType);
    }

    /** The same with the given OpenBLAS kernels (null: none named). */
    private static void environment(ProcessBuilder pb, String coreType) {
        pb.environment().put("OPENBLAS_NUM_THREADS", "1");
        pb.environment().remove("OMP_NUM_THREADS");
        pb.environment().remove("OPENBLAS_L2_SIZE");
        if (coreType == null) {
            pb.environment().remove("OPENBLAS_CORETYPE");
        } else {
            pb.environment().put("OPENBLAS_CORETYPE", coreType);
        }
    }

    private ObjectNode run(BenchConfig c, Path data, String style, boolean kvCache, int warmup, int steps,
                           int sampleTokens) {
        List<String> cmd = new java.util.ArrayList<>(List.of(python, script.toString(), "--data", data.toString(),
                "--config", c.name(), "--steps", String.valueOf(steps), "--warmup", String.valueOf(warmup),
                "--sample-tokens", String.valueOf(sampleTokens), "--style", style));
        if (kvCache) {
            cmd.add("--kv-cache");
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        bestEnvironment(pb);
        ObjectNode r = (ObjectNode) readLastLine(pb, "the PyTorch reference (config " + c + ", " + style
                + (kvCache ? ", kv-cache" : "") + ")");
        r.put("flops_per_token", c.flopsPerToken(r.get("params").asLong()));
        r.put("sample_tokens", sampleTokens);
        r.put("openblas_num_threads", 1);
        r.put("openblas_coretype", coreType());
        return r;
    }

    private static com.fasterxml.jackson.databind.JsonNode readLastLine(ProcessBuilder pb, String what) {
        try {
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new GptException(what + " failed (exit " + p.exitValue() + ")");
            }
            return Json.SNAKE.readTree(out.strip().lines().reduce((a, b) -> b).orElse(""));
        } catch (IOException e) {
            throw new GptException("cannot run " + what + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GptException("interrupted");
        }
    }
}
