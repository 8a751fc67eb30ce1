package dev.letsbuildgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.letsbuildgpt.AtomicFiles;
import dev.letsbuildgpt.GptException;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A run's log: {@code metrics.jsonl}, one JSON object per line, either a training step's loss
 * ({@code {"step": 41, "loss": 2.51}}) or an evaluation ({@code step}, {@code train_loss}, {@code val_loss}, ...);
 * and {@code loss.png}, both curves. Step losses are written together with the next evaluation.
 */
public final class Metrics {
    public static final String FILE_NAME = "metrics.jsonl";
    public static final String PLOT_NAME = "loss.png";

    /** One evaluation, as estimate_loss reports it. */
    public record Evaluation(int step, double trainLoss, double valLoss, double learningRate, double tokensPerSec,
                             double elapsedS) {
    }

    /** The loss of one training step's batch, before that step's update (with dropout, if the model has it). */
    public record StepLoss(int step, double loss) {
    }

    private final Path dir;
    private final String title;
    private final List<Evaluation> evaluations = new ArrayList<>();
    private final List<StepLoss> steps = new ArrayList<>();
    private final StringBuilder pending = new StringBuilder();

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

    /** The log of a run resumed at {@code step}: what was logged after it (before a crash) is dropped. */
    public static Metrics resume(Path dir, int step, String title) {
        Metrics m = new Metrics(dir, title);
        Log log = readLog(dir);
        log.evaluations.stream().filter(e -> e.step() <= step).forEach(m.evaluations::add);
        log.steps.stream().filter(s -> s.step() < step).forEach(m.steps::add);
        m.rewrite();
        return m;
    }

    /** The evaluations logged in a run directory. */
    public static List<Evaluation> read(Path dir) {
        return readLog(dir).evaluations;
    }

    /** The training steps' losses logged in a run directory. */
    public static List<StepLoss> readSteps(Path dir) {
        return readLog(dir).steps;
    }

    private record Log(List<Evaluation> evaluations, List<StepLoss> steps) {
    }

    private static Log readLog(Path dir) {
        Path f = dir.resolve(FILE_NAME);
        Log out = new Log(new ArrayList<>(), new ArrayList<>());
        if (!Files.exists(f)) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                if (line.isBlank()) {
                    continue;
                }
                try {
                    JsonNode n = Json.SNAKE.readTree(line);
                    if (n.has("val_loss")) {
                        out.evaluations.add(Json.read(line, Evaluation.class, "metrics line"));
                    } else {
                        out.steps.add(Json.read(line, StepLoss.class, "metrics line"));
                    }
                } catch (GptException | IOException torn) {
                    // a line cut short by a crash: the rest of the log is still good
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

    public List<StepLoss> steps() {
        return List.copyOf(steps);
    }

    /** A training step's loss; written with the next evaluation. */
    public void step(StepLoss s) {
        steps.add(s);
        pending.append(Json.line(s)).append('\n');
    }

    /** An evaluation, written at once with the step losses before it; redraws the plot. */
    public void add(Evaluation e) {
        evaluations.add(e);
        pending.append(Json.line(e)).append('\n');
        try {
            Files.writeString(dir.resolve(FILE_NAME), pending, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException ex) {
            throw new GptException("cannot write " + dir.resolve(FILE_NAME) + ": " + ex.getMessage());
        }
        pending.setLength(0);
        plot(evaluations, steps, dir.resolve(PLOT_NAME), title);
    }

    private void rewrite() {
        StringBuilder sb = new StringBuilder();
        int i = 0;
        for (Evaluation e : evaluations) {   // in step order: each evaluation after the steps before it
            while (i < steps.size() && steps.get(i).step() < e.step()) {
                sb.append(Json.line(steps.get(i++))).append('\n');
            }
            sb.append(Json.line(e)).append('\n');
        }
        while (i < steps.size()) {
            sb.append(Json.line(steps.get(i++))).append('\n');
        }
        AtomicFiles.write(dir.resolve(FILE_NAME), sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** The training and validation loss against the step (and, thin, each step's own loss). */
    public static XYChart chart(List<Evaluation> evaluations, List<StepLoss> steps, String title) {
        XYChart chart = new XYChartBuilder().width(640).height(400).title(title)
                .xAxisTitle("step").yAxisTitle("loss (nats)").build();
        chart.getStyler().setMarkerSize(4);
        chart.getStyler().setXAxisDecimalPattern("#");   // steps are whole numbers
        chart.getStyler().setXAxisTickMarkSpacingHint(90);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
        if (!steps.isEmpty()) {
            XYSeries s = chart.addSeries("each step's batch", steps.stream().mapToDouble(StepLoss::step).toArray(),
                    steps.stream().mapToDouble(StepLoss::loss).toArray());
            s.setMarker(SeriesMarkers.NONE);
            s.setLineColor(new java.awt.Color(180, 180, 180));
            s.setLineWidth(0.5f);
        }
        double[] at = evaluations.stream().mapToDouble(Evaluation::step).toArray();
        if (at.length > 0) {
            chart.addSeries("train", at, evaluations.stream().mapToDouble(Evaluation::trainLoss).toArray())
                    .setMarker(SeriesMarkers.CIRCLE);
            chart.addSeries("val", at, evaluations.stream().mapToDouble(Evaluation::valLoss).toArray())
                    .setMarker(SeriesMarkers.DIAMOND);
        }
        return chart;
    }

    /** The evaluations alone. */
    public static XYChart chart(List<Evaluation> evaluations, String title) {
        return chart(evaluations, List.of(), title);
    }

    /** Writes the loss curve as a PNG (through a temporary file, so a reader never sees half a picture). */
    public static void plot(List<Evaluation> evaluations, List<StepLoss> steps, Path png, String title) {
        try {
            AtomicFiles.write(png, BitmapEncoder.getBitmapBytes(chart(evaluations, steps, title),
                    BitmapEncoder.BitmapFormat.PNG));
        } catch (IOException e) {
            throw new GptException("cannot draw " + png + ": " + e.getMessage());
        }
    }
}
