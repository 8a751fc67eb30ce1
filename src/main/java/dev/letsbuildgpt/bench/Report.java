package dev.letsbuildgpt.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.letsbuildgpt.TextTable;
import dev.letsbuildgpt.train.Json;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * The benchmark's summary and tables. Rounds alternate between the two sides (these machines are noisy); each side
 * keeps its best figure of every kind over the rounds, and the spread is kept beside it. Java is set against
 * PyTorch at its best, like for like: training against the faster of the lecture's style and nanoGPT's, cached
 * sampling against nanoGPT's key/value cache, uncached against the faster uncached style, the long sample against
 * the faster of the two ways PyTorch generates past block_size. Ratios are Java/PyTorch: above 1 is better for
 * throughput, below 1 for time and memory.
 */
public final class Report {
    private Report() {
    }

    /** A configuration's entry: each side's best over its rounds, the ratios, MFU against {@code peakGflops}. */
    public static ObjectNode summarize(String config, List<ObjectNode> javaRounds, List<ObjectNode> torchRounds,
                                       double peakGflops, double nd4jPeakGflops) {
        ObjectNode e = Json.SNAKE.createObjectNode();
        e.put("config", config);
        ObjectNode j = javaRounds.get(0).deepCopy();
        best(j, javaRounds, "train_tok_s", true, r -> r);
        best(j, javaRounds, "step_ms", false, r -> r);
        best(j, javaRounds, "sample_ms_per_token", false, r -> r);
        best(j, javaRounds, "sample_ms_per_token_no_cache", false, r -> r);
        best(j, javaRounds, "long_sample_ms_per_token", false, r -> r);
        j.put("peak_rss_mb", javaRounds.stream().mapToDouble(r -> r.get("peak_rss_mb").asDouble()).max().orElse(0));
        j.put("sample_same_tokens", javaRounds.stream().allMatch(r -> r.get("sample_same_tokens").asBoolean()));
        mfu(j, peakGflops, nd4jPeakGflops);
        e.set("java", j);
        e.set("java_rounds", Json.SNAKE.valueToTree(javaRounds));
        if (torchRounds.isEmpty()) {
            return e;
        }
        ObjectNode t = Json.SNAKE.createObjectNode();
        JsonNode first = torchRounds.get(0).get("nanogpt");
        t.put("version", first.get("version").asText());
        t.put("params", first.get("params").asLong());
        t.put("flops_per_token", first.get("flops_per_token").asDouble());
        t.put("sample_tokens", first.get("sample_tokens").asInt());
        t.put("long_sample_tokens", Benchmark.LONG_SAMPLE_TOKENS);
        for (String style : List.of("lecture", "nanogpt")) {
            best(t, torchRounds, style + "_train_tok_s", true, r -> r.get(style), "train_tok_s");
            best(t, torchRounds, style + "_sample_ms_per_token_no_cache", false, r -> r.get(style),
                    "sample_ms_per_token");
        }
        String fastest = t.get("nanogpt_train_tok_s").asDouble() >= t.get("lecture_train_tok_s").asDouble()
                ? "nanogpt" : "lecture";
        t.put("train_style", fastest);
        t.put("train_tok_s", t.get(fastest + "_train_tok_s").asDouble());
        best(t, torchRounds, "step_ms", false, r -> r.get(fastest));
        t.put("sample_ms_per_token_no_cache", Math.min(t.get("lecture_sample_ms_per_token_no_cache").asDouble(),
                t.get("nanogpt_sample_ms_per_token_no_cache").asDouble()));
        best(t, torchRounds, "sample_ms_per_token", false, r -> r.get("nanogpt_kv_cache"));
        best(t, torchRounds, "long_kv_cache_ms_per_token", false, r -> r.get("long_kv_cache"), "sample_ms_per_token");
        best(t, torchRounds, "long_lecture_ms_per_token", false, r -> r.get("long_lecture"), "sample_ms_per_token");
        t.put("long_sample_ms_per_token", Math.min(t.get("long_kv_cache_ms_per_token").asDouble(),
                t.get("long_lecture_ms_per_token").asDouble()));
        // The memory of the process that trained fastest, at its largest over the rounds.
        t.put("peak_rss_mb", torchRounds.stream().mapToDouble(r -> r.get(fastest).get("peak_rss_mb").asDouble())
                .max().orElse(0));
        mfu(t, peakGflops, nd4jPeakGflops);
        e.set("pytorch", t);
        e.set("pytorch_rounds", Json.SNAKE.valueToTree(torchRounds));

        ObjectNode ratio = e.putObject("ratio_java_over_pytorch");
        ratio.put("train_tok_s", ratio(j, t, "train_tok_s"));
        ratio.put("train_tok_s_vs_lecture_style", Benchmark.round(
                j.get("train_tok_s").asDouble() / t.get("lecture_train_tok_s").asDouble(), 3));
        for (String f : List.of("sample_ms_per_token", "sample_ms_per_token_no_cache", "long_sample_ms_per_token",
                "peak_rss_mb")) {
            ratio.put(f, ratio(j, t, f));
        }
        return e;
    }

    private static double ratio(JsonNode j, JsonNode t, String field) {
        return Benchmark.round(j.get(field).asDouble() / t.get(field).asDouble(), 3);
    }

    private static void best(ObjectNode into, List<ObjectNode> rounds, String field, boolean higher,
                             java.util.function.Function<ObjectNode, JsonNode> part) {
        best(into, rounds, field, higher, part, field);
    }

    /** into.field = the best of part(round).source over the rounds; into.field_rounds = every round's value. */
    private static void best(ObjectNode into, List<ObjectNode> rounds, String field, boolean higher,
                             java.util.function.Function<ObjectNode, JsonNode> part, String source) {
        var values = into.putArray(field + "_rounds");
        double best = higher ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        for (ObjectNode r : rounds) {
            double v = part.apply(r).get(source).asDouble();
            values.add(v);
            best = higher ? Math.max(best, v) : Math.min(best, v);
        }
        into.put(field, best);
    }

    private static void mfu(ObjectNode r, double peakGflops, double nd4jPeakGflops) {
        double achieved = r.get("flops_per_token").asDouble() * r.get("train_tok_s").asDouble() / 1e9;
        r.put("achieved_gflops", Benchmark.round(achieved, 1));
        if (peakGflops > 0) {
            r.put("mfu", Benchmark.round(achieved / peakGflops, 4));
        }
        if (nd4jPeakGflops > 0) {
            r.put("mfu_of_nd4j_peak", Benchmark.round(achieved / nd4jPeakGflops, 4));
        }
    }

    /** The tables as text. */
    public static String table(List<ObjectNode> entries) {
        List<String[]> train = new ArrayList<>();
        train.add(new String[]{"config", "params", "Java tok/s", "spread", "PyTorch lecture", "PyTorch nanoGPT",
                "spread", "Java/PyTorch", "Java MFU", "PyTorch MFU"});
        List<String[]> sample = new ArrayList<>();
        sample.add(new String[]{"config", "tokens", "Java KV ms/tok", "PyTorch KV", "Java/PyTorch", "Java no cache",
                "PyTorch no cache", "Java/PyTorch", "same tokens"});
        List<String[]> longSample = new ArrayList<>();
        longSample.add(new String[]{"config", "tokens", "Java ms/tok", "PyTorch KV+crop", "PyTorch lecture",
                "Java/PyTorch"});
        List<String[]> memory = new ArrayList<>();
        memory.add(new String[]{"config", "Java peak MB", "PyTorch peak MB", "Java/PyTorch"});
        for (ObjectNode e : entries) {
            JsonNode j = e.get("java");
            JsonNode t = e.path("pytorch");
            JsonNode r = e.path("ratio_java_over_pytorch");
            String c = e.get("config").asText();
            String torchSpread = t.has("train_style") ? spread(t.get(t.get("train_style").asText() + "_train_tok_s_rounds"))
                    : "-";
            train.add(new String[]{c, String.format(Locale.ROOT, "%,d", j.get("params").asLong()),
                    num(j, "train_tok_s", "%,.0f"), spread(j.get("train_tok_s_rounds")),
                    num(t, "lecture_train_tok_s", "%,.0f"), num(t, "nanogpt_train_tok_s", "%,.0f"), torchSpread,
                    num(r, "train_tok_s", "%.2f"), pct(j), pct(t)});
            sample.add(new String[]{c, j.get("sample_tokens").asText(), num(j, "sample_ms_per_token", "%.3f"),
                    num(t, "sample_ms_per_token", "%.3f"), num(r, "sample_ms_per_token", "%.2f"),
                    num(j, "sample_ms_per_token_no_cache", "%.3f"), num(t, "sample_ms_per_token_no_cache", "%.3f"),
                    num(r, "sample_ms_per_token_no_cache", "%.2f"), j.get("sample_same_tokens").asText()});
            longSample.add(new String[]{c, j.get("long_sample_tokens").asText(), num(j, "long_sample_ms_per_token", "%.3f"),
                    num(t, "long_kv_cache_ms_per_token", "%.3f"), num(t, "long_lecture_ms_per_token", "%.3f"),
                    num(r, "long_sample_ms_per_token", "%.2f")});
            memory.add(new String[]{c, num(j, "peak_rss_mb", "%,.0f"), num(t, "peak_rss_mb", "%,.0f"),
                    num(r, "peak_rss_mb", "%.2f")});
        }
        return "Training (steady state; best of the rounds, spread = (max - min) / max over them)\n"
                + TextTable.render(train, 1)
                + "\nSampling (batch 1, from one token to a full context), with a key/value cache and without\n"
                + TextTable.render(sample, 1)
                + "\nA long sample from one token, past block_size (Java: the cache, then the cropped window by the"
                + " fast path)\n" + TextTable.render(longSample, 1)
                + "\nPeak memory (each configuration's own process; PyTorch's fastest-training one)\n"
                + TextTable.render(memory, 1);
    }

    private static String spread(JsonNode rounds) {
        if (rounds == null || rounds.size() < 2) {
            return "-";
        }
        List<Double> v = new ArrayList<>();
        rounds.forEach(x -> v.add(x.asDouble()));
        double max = v.stream().max(Comparator.naturalOrder()).orElse(0.0);
        double min = v.stream().min(Comparator.naturalOrder()).orElse(0.0);
        return String.format(Locale.ROOT, "%.0f%%", 100 * (max - min) / max);
    }

    private static String num(JsonNode n, String field, String format) {
        return n.has(field) ? String.format(Locale.ROOT, format, n.get(field).asDouble()) : "-";
    }

    private static String pct(JsonNode n) {
        return n.has("mfu") ? String.format(Locale.ROOT, "%.1f%%", 100 * n.get("mfu").asDouble()) : "-";
    }
}
