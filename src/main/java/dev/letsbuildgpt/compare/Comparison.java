package dev.letsbuildgpt.compare;

import dev.letsbuildgpt.AtomicFiles;
import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.TextTable;
import dev.letsbuildgpt.data.Dataset;
import dev.letsbuildgpt.sample.Sampler;
import dev.letsbuildgpt.train.Json;
import dev.letsbuildgpt.train.Metrics;
import dev.letsbuildgpt.train.Progress;
import dev.letsbuildgpt.train.RunConfig;
import dev.letsbuildgpt.train.Trainer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Our numbers beside the lecture's: train a stage preset, record what it reached, and print the rows as a table.
 *
 * <p>The {@code compare} command trains every stage; each chapter notebook records the model it trained with
 * {@link #record}, and {@code compare --notebooks DIR} tabulates those records.
 */
public final class Comparison {
    private Comparison() {
    }

    /**
     * One trained model's key numbers.
     *
     * @param source where it was trained: "compare", or the notebook's name
     * @param sample a short sample from the trained model
     */
    public record Row(String source, String preset, long params, int iters, double trainLoss, double valLoss,
                      double seconds, String sample) {
        public Lecture.Reference reference() {
            return Lecture.of(preset).orElse(null);
        }

        /** Ours minus the lecture's validation loss, or NaN where the lecture has no number. */
        public double difference() {
            Lecture.Reference r = reference();
            return r == null ? Double.NaN : valLoss - r.valLoss();
        }
    }

    /** A trained model and its row. */
    public record Trained(Trainer trainer, Row row) {
    }

    /** Trains {@code cfg} from scratch in {@code runDir}; the row holds its final losses, time and a sample. */
    public static Trained train(String source, RunConfig cfg, Dataset data, Path runDir, Progress progress) {
        long t0 = System.nanoTime();
        Trainer trainer = Trainer.start(cfg, data, runDir);
        Metrics.Evaluation last = trainer.run(progress);
        double seconds = (System.nanoTime() - t0) / 1e9;
        String sample = new Sampler(trainer.model(), data.tokenizer())
                .generate("", Sampler.Settings.of(200, cfg.train().seed()), null);
        return new Trained(trainer, new Row(source, cfg.preset(), trainer.model().parameters().count(),
                trainer.config().train().maxIters(), last.trainLoss(), last.valLoss(), seconds, sample));
    }

    /** Writes a row as {@code DIR/<source>-<preset>.json}, so a later {@code compare --notebooks DIR} finds it. */
    public static Path record(Path dir, Row row) {
        Path file = dir.resolve((row.source() + "-" + row.preset()).replaceAll("[^A-Za-z0-9._-]", "_") + ".json");
        AtomicFiles.write(file, Json.write(row).getBytes(StandardCharsets.UTF_8));
        return file;
    }

    /** The rows recorded in {@code dir}: by source (the notebooks' chapter order), then in the lecture's order. */
    public static List<Row> read(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new GptException("no results in " + dir + ": run the notebooks first (make notebooks)");
        }
        List<Row> rows = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted(Comparator.naturalOrder()).toList()) {
                rows.add(Json.read(Files.readString(f), Row.class, f.toString()));
            }
        } catch (IOException e) {
            throw new GptException("cannot read results in " + dir + ": " + AtomicFiles.describe(e));
        }
        if (rows.isEmpty()) {
            throw new GptException("no results in " + dir + ": run the notebooks first (make notebooks)");
        }
        rows.sort(Comparator.comparing(Row::source).thenComparingInt(r -> Lecture.order(r.preset())));
        return rows;
    }

    /** The rows as an aligned text table: stage, the lecture's loss, ours, the difference, the time. */
    public static String table(List<Row> rows) {
        return format(rows, false);
    }

    /** The same table in Markdown, for docs/RESULTS.md. */
    public static String markdown(List<Row> rows) {
        return format(rows, true);
    }

    private static String format(List<Row> rows, boolean markdown) {
        String[] head = {"source", "preset", "stage", "params", "iters", "lecture val", "PyTorch val", "our val",
                "ours - lecture", "our train", "time"};
        List<String[]> cells = new ArrayList<>();
        for (Row r : rows) {
            Lecture.Reference ref = r.reference();
            double d = r.difference();
            cells.add(new String[]{r.source(), r.preset(), ref == null ? "-" : ref.stage(),
                    String.format(Locale.ROOT, "%,d", r.params()), String.valueOf(r.iters()),
                    ref == null ? "-" : ref.lectureText(),
                    ref == null || ref.pytorchValLoss() == null ? "-" : String.format(Locale.ROOT, "%.4f", ref.pytorchValLoss()),
                    String.format(Locale.ROOT, "%.4f", r.valLoss()),
                    Double.isNaN(d) ? "-" : String.format(Locale.ROOT, "%+.4f", d),
                    String.format(Locale.ROOT, "%.4f", r.trainLoss()), duration(r.seconds())});
        }
        StringBuilder sb = new StringBuilder();
        if (markdown) {
            sb.append("| ").append(String.join(" | ", head)).append(" |\n|");
            sb.append("---|".repeat(head.length)).append('\n');
            for (String[] c : cells) {
                sb.append("| ").append(String.join(" | ", c)).append(" |\n");
            }
            return sb.toString();
        }
        List<String[]> all = new ArrayList<>();
        all.add(head);
        all.addAll(cells);
        return TextTable.render(all, 3);   // the text columns left-aligned, the numbers right-aligned
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s < 60 ? s + " s" : String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60);
    }
}
