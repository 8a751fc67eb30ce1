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
 * The PyTorch reference ({@code torch_gpt_bench.py}: the same architecture in PyTorch), run as a child process on
 * the same machine, in the same environment as the Java side, at its own best setting: PyTorch threads its ops
 * itself, and OpenBLAS starting threads of its own inside them oversubscribes the cores (on config A here:
 * 3,317 tok/s with OpenBLAS's threads, 12,404 with {@code OPENBLAS_NUM_THREADS=1}).
 */
public final class TorchReference {
    /** Where the reference script is in this project's CI layout; {@code GPT_TORCH_BENCH} overrides it. */
    public static final String DEFAULT_SCRIPT = "../shared/reference/torch_gpt_bench.py";
    private final Path script;
    private final String python;

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
     * Runs one configuration; the script's JSON line, with {@code long_sample_ms_per_token} added from a second run
     * that generates {@link Benchmark#LONG_SAMPLE_TOKENS} tokens as the lecture's generate does (crop, recompute).
     */
    public ObjectNode run(BenchConfig c, Path data, int warmup, int steps) {
        ObjectNode r = run(c, data, warmup, steps, c.sampleTokens());
        ObjectNode longSample = run(c, data, 0, 1, Benchmark.LONG_SAMPLE_TOKENS);
        r.put("long_sample_tokens", Benchmark.LONG_SAMPLE_TOKENS);
        r.put("long_sample_ms_per_token", longSample.get("sample_ms_per_token").asDouble());
        return r;
    }

    private ObjectNode run(BenchConfig c, Path data, int warmup, int steps, int sampleTokens) {
        List<String> cmd = List.of(python, script.toString(), "--data", data.toString(), "--config", c.name(),
                "--steps", String.valueOf(steps), "--warmup", String.valueOf(warmup),
                "--sample-tokens", String.valueOf(sampleTokens));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("OPENBLAS_NUM_THREADS", "1");
        try {
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new GptException("the PyTorch reference failed on config " + c + " (exit " + p.exitValue() + ")");
            }
            String last = out.strip().lines().reduce((a, b) -> b).orElse("");
            ObjectNode r = (ObjectNode) Json.SNAKE.readTree(last);
            r.put("flops_per_token", c.flopsPerToken(r.get("params").asLong()));
            r.put("sample_tokens", sampleTokens);
            r.put("openblas_num_threads", 1);
            return r;
        } catch (IOException e) {
            throw new GptException("cannot run the PyTorch reference: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GptException("interrupted");
        }
    }
}
