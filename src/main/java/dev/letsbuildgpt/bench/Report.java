package dev.letsbuildgpt.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.letsbuildgpt.TextTable;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The benchmark's tables: per configuration, Java beside PyTorch and their ratio, in the direction of each target
 * (training throughput Java/PyTorch, higher is better; sampling time and memory Java/PyTorch, lower is better).
 */
public final class Report {
    private Report() {
    }

    /** Adds the ratios (and MFU) to a configuration's entry {java, pytorch}. */
    public static void addRatios(ObjectNode entry, double peakGflops) {
        JsonNode j = entry.get("java");
        JsonNode t = entry.get("pytorch");
        for (JsonNode r : new JsonNode[]{j, t}) {
            if (r != null && peakGflops > 0) {
                double achieved = r.get("flops_per_token").asDouble() * r.get("train_tok_s").asDouble() / 1e9;
                ((ObjectNode) r).put("mfu", Benchmark.round(achieved / peakGflops, 4));
            }
        }
        if (j == null || t == null) {
            return;
        }
        ObjectNode ratio = entry.putObject("ratio_java_over_pytorch");
        ratio.put("train_tok_s", Benchmark.round(j.get("train_tok_s").asDouble() / t.get("train_tok_s").asDouble(), 3));
        ratio.put("sample_ms_per_token",
                Benchmark.round(j.get("sample_ms_per_token").asDouble() / t.get("sample_ms_per_token").asDouble(), 3));
        if (j.has("long_sample_ms_per_token") && t.has("long_sample_ms_per_token")) {
            ratio.put("long_sample_ms_per_token", Benchmark.round(j.get("long_sample_ms_per_token").asDouble()
                    / t.get("long_sample_ms_per_token").asDouble(), 3));
        }
        ratio.put("peak_rss_mb", Benchmark.round(j.get("peak_rss_mb").asDouble() / t.get("peak_rss_mb").asDouble(), 3));
    }

    /** The tables as text. */
    public static String table(List<ObjectNode> entries) {
        List<String[]> train = new ArrayList<>();
        train.add(new String[]{"config", "params", "Java tok/s", "PyTorch tok/s", "Java/PyTorch", "Java step ms",
                "PyTorch step ms", "Java MFU", "PyTorch MFU"});
        List<String[]> sample = new ArrayList<>();
        sample.add(new String[]{"config", "tokens", "Java ms/token", "no cache", "PyTorch ms/token", "Java/PyTorch",
                "same tokens", "Java peak MB", "PyTorch peak MB", "Java/PyTorch"});
        List<String[]> longSample = new ArrayList<>();
        longSample.add(new String[]{"config", "tokens", "Java ms/token", "PyTorch ms/token", "Java/PyTorch"});
        for (ObjectNode e : entries) {
            JsonNode j = e.get("java");
            JsonNode t = e.path("pytorch");
            JsonNode r = e.path("ratio_java_over_pytorch");
            String c = e.get("config").asText();
            train.add(new String[]{c, String.format(Locale.ROOT, "%,d", j.get("params").asLong()),
                    num(j, "train_tok_s", "%,.0f"), num(t, "train_tok_s", "%,.0f"), num(r, "train_tok_s", "%.2f"),
                    num(j, "step_ms", "%.1f"), num(t, "step_ms", "%.1f"), pct(j), pct(t)});
            sample.add(new String[]{c, j.get("sample_tokens").asText(), num(j, "sample_ms_per_token", "%.3f"),
                    num(j, "sample_ms_per_token_no_cache", "%.2f"), num(t, "sample_ms_per_token", "%.3f"),
                    num(r, "sample_ms_per_token", "%.2f"), j.get("sample_same_tokens").asText(),
                    num(j, "peak_rss_mb", "%,.0f"), num(t, "peak_rss_mb", "%,.0f"), num(r, "peak_rss_mb", "%.2f")});
            longSample.add(new String[]{c, j.path("long_sample_tokens").asText("-"), num(j, "long_sample_ms_per_token", "%.3f"),
                    num(t, "long_sample_ms_per_token", "%.3f"), num(r, "long_sample_ms_per_token", "%.2f")});
        }
        return "Training (steady state)\n" + TextTable.render(train, 1)
                + "\nSampling (batch 1, from one token to a full context) and peak memory\n"
                + TextTable.render(sample, 1)
                + "\nA long sample from one token, past block_size (Java: the cache, then the cropped window by the fast"
                + " path; PyTorch: the lecture's generate)\n" + TextTable.render(longSample, 1);
    }

    private static String num(JsonNode n, String field, String format) {
        return n.has(field) ? String.format(Locale.ROOT, format, n.get(field).asDouble()) : "-";
    }

    private static String pct(JsonNode n) {
        return n.has("mfu") ? String.format(Locale.ROOT, "%.1f%%", 100 * n.get("mfu").asDouble()) : "-";
    }
}
