package dev.letsbuildgpt.train;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;
import java.time.Duration;

/**
 * Shows a run's progress: a live bar (step, loss, tokens/s, ETA) on a terminal, plain log lines otherwise (a pipe,
 * a file, CI, a notebook), where a redrawn bar would be noise.
 */
public interface Progress extends AutoCloseable {
    /** After each optimizer step: the steps done so far, the loss of the step's batch, the speed. */
    void step(int step, double loss, double tokensPerSec);

    /** After each evaluation. */
    void evaluation(Metrics.Evaluation e);

    /** A line of information that must not break the bar. */
    void message(String line);

    @Override
    void close();

    /** The right kind for where output goes: a bar when stdout is a terminal. */
    static Progress forConsole(int start, int maxIters, PrintStream out) {
        return System.console() != null ? new Bar(start, maxIters) : new Lines(maxIters, out);
    }

    /** A line per evaluation, as the lecture's training loop prints it, and nothing in between (notebooks). */
    static Progress evaluations(PrintStream out) {
        return new Lines(0, out);
    }

    /** Nothing shown (tests). */
    static Progress silent() {
        return new Progress() {
            public void step(int step, double loss, double tokensPerSec) {
            }

            public void evaluation(Metrics.Evaluation e) {
            }

            public void message(String line) {
            }

            public void close() {
            }
        };
    }

    static String describe(Metrics.Evaluation e) {
        return String.format("step %d: train loss %.4f, val loss %.4f", e.step(), e.trainLoss(), e.valLoss());
    }

    final class Bar implements Progress {
        private final ProgressBar bar;

        Bar(int start, int maxIters) {
            // A one-line consumer that redraws with '\r' (the interactive one moves the cursor up and would draw
            // over the evaluation lines printed above the bar).
            bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(maxIters).startsFrom(start, Duration.ZERO)
                    .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).continuousUpdate()
                    .setConsumer(new ConsoleProgressBarConsumer(System.err, 120)).build();
        }

        private String losses = "";

        public void step(int step, double loss, double tokensPerSec) {
            bar.stepTo(step);
            bar.setExtraMessage(String.format("loss %.4f | %s%,.0f tok/s", loss, losses, tokensPerSec));
        }

        public void evaluation(Metrics.Evaluation e) {
            losses = String.format("train %.4f val %.4f | ", e.trainLoss(), e.valLoss());
            message(describe(e));
        }

        public void message(String line) {
            // Print above the bar: clear its line, print (one call, so the bar's thread cannot cut in), redraw.
            System.err.println("\r\033[2K" + line);
            bar.refresh();
        }

        public void close() {
            bar.close();
        }
    }

    /** Plain lines: each evaluation, and about 20 step lines over a run of maxIters steps (none for 0). */
    final class Lines implements Progress {
        private final PrintStream out;
        private final int every;

        Lines(int maxIters, PrintStream out) {
            this.out = out;
            this.every = maxIters == 0 ? 0 : Math.max(1, maxIters / 20);
        }

        public void step(int step, double loss, double tokensPerSec) {
            if (every > 0 && step % every == 0) {
                out.printf("step %d: loss %.4f, %,.0f tokens/s%n", step, loss, tokensPerSec);
            }
        }

        public void evaluation(Metrics.Evaluation e) {
            out.println(describe(e));
        }

        public void message(String line) {
            out.println(line);
        }

        public void close() {
            out.flush();
        }
    }
}
