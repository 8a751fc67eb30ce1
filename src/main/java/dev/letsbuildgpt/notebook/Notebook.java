package dev.letsbuildgpt.notebook;

import dev.letsbuildgpt.compare.Comparison;
import dev.letsbuildgpt.data.Dataset;
import dev.letsbuildgpt.data.TinyShakespeare;
import dev.letsbuildgpt.train.Progress;
import dev.letsbuildgpt.train.RunConfig;

import java.nio.file.Path;

/**
 * What the chapter notebooks share: where the data and runs live, the short-run knob, and training a preset with
 * its key numbers recorded for {@code compare --notebooks}.
 *
 * <p>Notebooks run with their own folder ({@code notebooks/}) as the working directory, so the project's folders are
 * one level up: data in {@code ../data}, runs in {@code ../runs/notebooks}, results in {@code ../target/notebooks/results}.
 */
public final class Notebook {
    /** Set to a number of steps to train every chapter briefly (CI); unset, chapters train at the lecture's settings. */
    public static final String MAX_ITERS_ENV = "GPT_MAX_ITERS";
    /** Where chapters record their results (default {@code ../target/notebooks/results}). */
    public static final String RESULTS_ENV = "GPT_RESULTS_DIR";

    private Notebook() {
    }

    /** Tiny Shakespeare, downloaded once into the project's data/ folder (or from GPT_DATA_URL). */
    public static String text() {
        return TinyShakespeare.load(null, Path.of("..", "data"));
    }

    /** The steps a chapter trains: the lecture's, unless GPT_MAX_ITERS asks for a short run. */
    public static int maxIters(int lecture) {
        String env = System.getenv(MAX_ITERS_ENV);
        if (env == null || env.isBlank()) {
            return lecture;
        }
        try {
            int n = Integer.parseInt(env.trim());
            if (n < 1) {
                throw new NumberFormatException();
            }
            return Math.min(n, lecture);
        } catch (NumberFormatException e) {
            throw new dev.letsbuildgpt.GptException(MAX_ITERS_ENV + " must be a positive number of steps, got '" + env + "'");
        }
    }

    /**
     * A preset at the lecture's settings, or shortened by GPT_MAX_ITERS (then evaluated about five times, so the loss
     * curve still has points).
     */
    public static RunConfig preset(String name) {
        RunConfig c = RunConfig.preset(name);
        int lecture = c.train().maxIters();
        int n = maxIters(lecture);
        if (n == lecture) {
            return c;
        }
        System.out.printf("%s=%d: a short run of %d steps (the lecture trains %d)%n", MAX_ITERS_ENV, n, n, lecture);
        return c.with("max-iters", String.valueOf(n))
                .with("eval-interval", String.valueOf(Math.max(1, Math.min(c.train().evalInterval(), n / 5))));
    }

    /**
     * Trains {@code cfg} from scratch into {@code ../runs/notebooks/<chapter>-<preset>}, printing its progress, and
     * records its numbers (parameters, final losses, time, a sample) under the chapter's name.
     */
    public static Comparison.Trained train(String chapter, RunConfig cfg, Dataset data) {
        Comparison.Trained t;
        try (Progress progress = Progress.evaluations(System.out)) {   // a line per estimate_loss, as the lecture prints
            t = Comparison.train(chapter, cfg, data, runDir(chapter, cfg.preset()), progress);
        }
        Comparison.record(resultsDir(), t.row());
        System.out.printf("%s: %,d parameters, %d steps, train loss %.4f, val loss %.4f, %.0f s%n", cfg.preset(),
                t.row().params(), t.row().iters(), t.row().trainLoss(), t.row().valLoss(), t.row().seconds());
        return t;
    }

    /**
     * Runs something with System.out muted: SameDiff prints a line per operation while it differentiates a graph
     * ({@code Notebook.quiet(sd::createGradFunction)} builds the backward pass without that).
     */
    public static void quiet(Runnable r) {
        java.io.PrintStream out = System.out;
        System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        try {
            r.run();
        } finally {
            System.setOut(out);
        }
    }

    /** Prints the source of a library class, as the jar holds it (see {@link Source}). */
    public static void source(Class<?> c) {
        System.out.print(Source.of(c));
    }

    /** Prints one member of a library class: a method, a constructor or a nested class, with its comment. */
    public static void source(Class<?> c, String member) {
        System.out.print(Source.of(c, member));
    }

    /**
     * Checks that what a cell computed equals the library's result, to {@code tolerance} (the largest absolute
     * difference), and says so in a line; otherwise throws an AssertionError saying by how much they differ.
     */
    public static void assertSame(String what, org.nd4j.linalg.api.ndarray.INDArray ours,
                                  org.nd4j.linalg.api.ndarray.INDArray library, double tolerance) {
        if (!java.util.Arrays.equals(ours.shape(), library.shape())) {
            throw new AssertionError(what + ": shapes differ, " + java.util.Arrays.toString(ours.shape()) + " and "
                    + java.util.Arrays.toString(library.shape()));
        }
        org.nd4j.linalg.api.buffer.DataType d = org.nd4j.linalg.api.buffer.DataType.DOUBLE;
        double worst = ours.castTo(d).sub(library.castTo(d)).amaxNumber().doubleValue();
        if (!(worst <= tolerance)) {
            throw new AssertionError(String.format("%s: the largest difference is %.3g, more than %.1g", what, worst,
                    tolerance));
        }
        System.out.printf("%s: the same (largest difference %.2g)%n", what, worst);
    }

    /** The same for two numbers. */
    public static void assertSame(String what, double ours, double library, double tolerance) {
        double d = Math.abs(ours - library);
        if (!(d <= tolerance)) {
            throw new AssertionError(String.format("%s: %.6f and %.6f differ by %.3g, more than %.1g", what, ours,
                    library, d, tolerance));
        }
        System.out.printf("%s: the same (%.6f and %.6f)%n", what, ours, library);
    }

    /**
     * Trains a variation of a preset (other settings than the lecture's stage) into
     * {@code ../runs/notebooks/<chapter>-<label>}, printing its progress; not recorded among the chapter's results,
     * which hold the lecture's stages only.
     */
    public static Comparison.Trained experiment(String chapter, String label, RunConfig cfg, Dataset data) {
        Comparison.Trained t;
        try (Progress progress = Progress.evaluations(System.out)) {
            t = Comparison.train(chapter, cfg, data, runDir(chapter, label), progress);
        }
        System.out.printf("%s: %,d parameters, %d steps, train loss %.4f, val loss %.4f, %.0f s%n", label,
                t.row().params(), t.row().iters(), t.row().trainLoss(), t.row().valLoss(), t.row().seconds());
        return t;
    }

    /** Where a chapter's training run of a preset is kept (checkpoint, metrics, loss plot). */
    public static Path runDir(String chapter, String preset) {
        return Path.of("..", "runs", "notebooks", chapter + "-" + preset);
    }

    static Path resultsDir() {
        String env = System.getenv(RESULTS_ENV);
        return env == null || env.isBlank() ? Path.of("..", "target", "notebooks", "results") : Path.of(env.trim());
    }
}
