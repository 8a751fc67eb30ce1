package dev.letsbuildgpt.train;

import dev.letsbuildgpt.AtomicFiles;
import dev.letsbuildgpt.GptException;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A run's evaluations: {@code metrics.jsonl} (one JSON object per evaluation) and {@code loss.png}.
 */
public final class Metrics {
    public static final String FILE_NAME = "metrics.jsonl";
    public static final String PLOT_NAME = "loss.png";

    /** One evaluation, as estimate_loss reports it. */
    public record Evaluation(int step, double trainLoss, double valLoss, double learningRate, double tokensPerSec,
                             double elapsedS) {
    }

    private final Path dir;
    private final String title;
    private final List<Evaluation> evaluations = new ArrayList<>();

    private Metrics(Path dir, String title) {
        this.dir = dir;
        this.title = title;
    }

    /** A new, empty log; {@code title} heads the loss plot. */
    public static Metrics create(Path dir, String title) {
        Metrics m = new Metrics(dir, title);
        m.rewrite();
        return m;
    }

    /** The log of a run resumed at {@code step}: evaluations after it (made before a crash) are dropped. */
    public static Metrics resume(Path dir, int step, String title) {
        Metrics m = new Metrics(dir, title);
        for (Evaluation e : read(dir)) {
            if (e.step() <= step) {
                m.evaluations.add(e);
            }
        }
        m.rewrite();
        return m;
    }

    public static List<Evaluation> read(Path dir) {
        Path f = dir.resolve(FILE_NAME);
        List<Evaluation> out = new ArrayList<>();
        if (!Files.exists(f)) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    try {
                        out.add(Json.read(line, Evaluation.class, "metrics line"));
                    } catch (GptException torn) {
                        // a line cut short by a crash: the rest of the log is still good
                    }
                }
            }
        } catch (IOException e) {
            throw new GptException("cannot read " + f + ": " + e.getMessage());
        }
        return out;
    }

    public List<Evaluation> evaluations() {
        return List.copyOf(evaluations);
    }

    public void add(Evaluation e) {
        evaluations.add(e);
        try {
            Files.writeString(dir.resolve(FILE_NAME), Json.line(e) + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException ex) {
            throw new GptException("cannot write " + dir.resolve(FILE_NAME) + ": " + ex.getMessage());
        }
        plot(evaluations, dir.resolve(PLOT_NAME), title);
    }

    private void rewrite() {
        StringBuilder sb = new StringBuilder();
        evaluations.forEach(e -> sb.append(Json.line(e)).append('\n'));
        AtomicFiles.write(dir.resolve(FILE_NAME), sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** The training and validation loss against the step. */
    public static XYChart chart(List<Evaluation> evaluations, String title) {
        XYChart chart = new XYChartBuilder().width(640).height(400).title(title)
                .xAxisTitle("step").yAxisTitle("loss (nats)").build();
        chart.getStyler().setMarkerSize(4);
        double[] steps = evaluations.stream().mapToDouble(Evaluation::step).toArray();
        if (steps.length > 0) {
            chart.addSeries("train", steps, evaluations.stream().mapToDouble(Evaluation::trainLoss).toArray())
                    .setMarker(SeriesMarkers.CIRCLE);
            chart.addSeries("val", steps, evaluations.stream().mapToDouble(Evaluation::valLoss).toArray())
                    .setMarker(SeriesMarkers.DIAMOND);
        }
        return chart;
    }

    /** Writes the loss curve as a PNG (through a temporary file, so a reader never sees half a picture). */
    public static void plot(List<Evaluation> evaluations, Path png, String title) {
        try {
            AtomicFiles.write(png, BitmapEncoder.getBitmapBytes(chart(evaluations, title), BitmapEncoder.BitmapFormat.PNG));
        } catch (IOException e) {
            throw new GptException("cannot draw " + png + ": " + e.getMessage());
        }
    }
}
