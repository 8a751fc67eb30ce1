package dev.letsbuildgpt.cli;

import dev.letsbuildgpt.AtomicFiles;
import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.compare.Comparison;
import dev.letsbuildgpt.compare.Lecture;
import dev.letsbuildgpt.data.Dataset;
import dev.letsbuildgpt.train.Progress;
import dev.letsbuildgpt.train.RunConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Train every lecture stage at the lecture's settings and print our validation loss beside the"
                + " lecture's; or, with --notebooks, tabulate what the chapter notebooks recorded.")
final class CompareCommand implements Callable<Integer> {
    @Option(names = "--stages", split = ",", paramLabel = "PRESET",
            description = "Stages to train, comma-separated (default: all CPU stages: ${DEFAULT-VALUE})")
    List<String> stages = new ArrayList<>(Lecture.cpuStages());

    @Option(names = "--max-iters", paramLabel = "N",
            description = "Train each stage for N steps instead of the lecture's (a quick check; not comparable)")
    Integer maxIters;

    @Option(names = "--out", defaultValue = "runs/compare", paramLabel = "DIR",
            description = "Where each stage's run goes, and compare.md / compare.json (default: ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--notebooks", paramLabel = "DIR",
            description = "Train nothing: tabulate the results the notebooks recorded in DIR (e.g. target/notebooks/results)")
    Path notebooks;

    @Mixin
    Common.DataOption data = new Common.DataOption();

    @Override
    public Integer call() {
        if (notebooks != null) {
            System.out.print(Comparison.table(Comparison.read(notebooks)));
            return 0;
        }
        if (maxIters != null && maxIters < 1) {
            throw new GptException("--max-iters must be at least 1, got " + maxIters);
        }
        List<RunConfig> configs = new ArrayList<>();
        for (String s : stages) {
            if (Lecture.of(s).isEmpty()) {
                throw new GptException("'" + s + "' is not a lecture stage; choose from " + String.join(", ", Lecture.cpuStages())
                        + " (or gpt, on a GPU)");
            }
            RunConfig c = RunConfig.preset(s);
            configs.add(maxIters == null ? c : c.with("max-iters", String.valueOf(maxIters)));
        }
        Dataset ds = Dataset.of(data.load());
        System.out.println(Common.backend());
        List<Comparison.Row> rows = new ArrayList<>();
        for (RunConfig c : configs) {
            System.out.printf("== %s: %s%n", c.preset(), TrainCommand.describe(c));
            try (Progress progress = Progress.forConsole(0, c.train().maxIters(), System.out)) {
                rows.add(Comparison.train("compare", c, ds, out.resolve(c.preset()), progress).row());
            }
            Comparison.Row r = rows.get(rows.size() - 1);
            System.out.printf("== %s: val %.4f (lecture %s, difference %+.4f) in %.0f s%n", r.preset(), r.valLoss(),
                    r.reference().lectureText(), r.difference(), r.seconds());
        }
        String table = Comparison.table(rows);
        System.out.println();
        System.out.print(table);
        AtomicFiles.write(out.resolve("compare.md"), Comparison.markdown(rows).getBytes(StandardCharsets.UTF_8));
        AtomicFiles.write(out.resolve("compare.json"),
                dev.letsbuildgpt.train.Json.write(rows).getBytes(StandardCharsets.UTF_8));
        System.out.println("written: " + out.resolve("compare.md") + ", " + out.resolve("compare.json"));
        return 0;
    }
}
