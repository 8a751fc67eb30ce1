package dev.letsbuildgpt.notebook;

import dev.letsbuildgpt.train.Metrics;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.HeatMapStyler;
import org.knowm.xchart.style.Styler;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * Pictures for the notebooks, as images that {@code display(...)} shows inline: loss curves, attention maps and
 * next-character distributions.
 */
public final class Plots {
    private Plots() {
    }

    /** Any XChart chart as an image. */
    public static BufferedImage image(Chart<?, ?> chart) {
        return BitmapEncoder.getBufferedImage(chart);
    }

    /** Train and validation loss against the step, as estimate_loss measured them. */
    /** The loss curves with each training step's own loss (thin). */
    public static BufferedImage losses(List<Metrics.Evaluation> evaluations, List<Metrics.StepLoss> steps, String title) {
        return image(Metrics.chart(evaluations, steps, title));
    }

    public static BufferedImage losses(List<Metrics.Evaluation> evaluations, String title) {
        return image(Metrics.chart(evaluations, title));
    }

    /**
     * Attention weights as a heatmap: row {@code t} is what position {@code t} attends to, column {@code s} the
     * position it looks at; with a causal mask everything above the diagonal is zero.
     *
     * @param weights [T][T] weights, each row summing to 1
     * @param labels  the T characters at the positions (shown along both axes)
     */
    public static BufferedImage attention(double[][] weights, List<String> labels, String title) {
        int t = weights.length;
        boolean small = t <= 12;   // room to print each weight in its cell
        int cell = small ? 56 : 24;
        HeatMapChart chart = new HeatMapChartBuilder().width(220 + cell * t).height(170 + cell * t).title(title)
                .xAxisTitle("looks at (key position)").yAxisTitle("query position").build();
        HeatMapStyler style = chart.getStyler();
        style.setLegendPosition(Styler.LegendPosition.OutsideE);
        style.setShowValue(small);
        style.setHeatMapValueDecimalPattern("0.00");
        style.setMin(0).setMax(1);
        style.setRangeColors(new Color[]{Color.WHITE, new Color(0x9ecae1), new Color(0x08306b)});
        style.setValueFontColor(Color.DARK_GRAY);
        style.setXAxisLabelRotation(90);
        List<String> keys = new ArrayList<>();
        List<String> queries = new ArrayList<>();
        for (int i = 0; i < t; i++) {
            keys.add(i + " '" + visible(labels.get(i)) + "'");
        }
        // XChart draws the first y value at the bottom; list queries bottom-up so position 0 is the top row.
        for (int i = t - 1; i >= 0; i--) {
            queries.add(i + " '" + visible(labels.get(i)) + "'");
        }
        List<Number[]> cells = new ArrayList<>();
        for (int q = 0; q < t; q++) {
            for (int k = 0; k < t; k++) {
                cells.add(new Number[]{k, t - 1 - q, weights[q][k]});
            }
        }
        chart.addSeries("attention", keys, queries, cells);
        return image(chart);
    }

    /**
     * A next-character distribution as bars, one per character of the vocabulary, with a reference probability drawn
     * across them as a line (the uniform guess, say).
     *
     * @param probabilities one per character, summing to 1
     * @param vocabulary    the characters, in token order
     */
    public static BufferedImage distribution(double[] probabilities, String vocabulary, double reference,
                                             String referenceName, String title) {
        if (probabilities.length != vocabulary.length()) {
            throw new IllegalArgumentException(probabilities.length + " probabilities for " + vocabulary.length()
                    + " characters");
        }
        CategoryChart chart = new CategoryChartBuilder().width(1100).height(420).title(title)
                .xAxisTitle("next character").yAxisTitle("probability").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        chart.getStyler().setXAxisLabelRotation(90);
        chart.getStyler().setOverlapped(true);
        List<String> chars = new ArrayList<>();
        List<Double> p = new ArrayList<>();
        List<Double> line = new ArrayList<>();
        for (int i = 0; i < probabilities.length; i++) {
            chars.add(visible(String.valueOf(vocabulary.charAt(i))));
            p.add(probabilities[i]);
            line.add(reference);
        }
        chart.addSeries("p(next character)", chars, p);
        chart.addSeries(referenceName, chars, line)
                .setChartCategorySeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
        return image(chart);
    }

    private static String visible(String c) {
        return switch (c) {
            case "\n" -> "\\n";
            case " " -> "␣";
            default -> c;
        };
    }
}
