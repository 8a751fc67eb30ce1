package dev.letsbuildgpt.parity;

import com.fasterxml.jackson.databind.JsonNode;
import dev.letsbuildgpt.TestData;
import dev.letsbuildgpt.data.Dataset;
import dev.letsbuildgpt.model.Graph;
import dev.letsbuildgpt.model.LanguageModel;
import dev.letsbuildgpt.model.Shards;
import dev.letsbuildgpt.sample.Sampler;
import dev.letsbuildgpt.train.Checkpoint;
import dev.letsbuildgpt.train.Json;
import dev.letsbuildgpt.train.PyTorchWeights;
import dev.letsbuildgpt.train.RunConfig;
import dev.letsbuildgpt.train.Trainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The same weights give the same numbers here and in the lecture's PyTorch modules (scripts/pytorch_parity.py,
 * written as gpt.py writes them, run with Debian's python3-torch): our trained weights, exported, give the same
 * logits there; weights trained by PyTorch, imported, give the same logits and greedy samples here. Skipped, with a
 * notice, where /usr/bin/python3 has no torch (CI installs it and sets GPT_REQUIRE_PYTORCH=1, which fails instead).
 */
class PyTorchParityTest {
    static final String PYTHON = "/usr/bin/python3";
    static final Path SCRIPT = Path.of("scripts", "pytorch_parity.py");
    static final Dataset DATA = Dataset.of(TestData.shakespeare());

    @TempDir
    static Path tmp;

    @BeforeAll
    static void needsTorch() throws Exception {
        Process p = new ProcessBuilder(PYTHON, "-c", "import torch, numpy").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        boolean present = p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        String missing = PYTHON + " cannot import torch and numpy (Debian: apt-get install python3-torch;"
                + " scripts/install-system-packages.sh bench)";
        // CI sets GPT_REQUIRE_PYTORCH=1, so a missing install fails there instead of skipping quietly.
        assertTrue(present || !"1".equals(System.getenv("GPT_REQUIRE_PYTORCH")), missing);
        assumeTrue(present, "PyTorch parity skipped: " + missing);
    }

    static JsonNode python(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(PYTHON, SCRIPT.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(10, TimeUnit.MINUTES));
        assertEquals(0, p.exitValue(), "pytorch_parity.py " + String.join(" ", args) + ": " + out);
        return Json.SNAKE.readTree(out.strip().lines().reduce((a, b) -> b).orElseThrow());
    }

    static RunConfig small() {
        return RunConfig.preset("notebook").with("n-embd", "32").with("n-head", "4").with("n-layer", "2")
                .with("block-size", "16").with("max-iters", "40").with("eval-interval", "40").with("eval-iters", "2");
    }

    static int[] tokens() {
        return DATA.tokenizer().encode("ROMEO:\nWhat's he");
    }

    static String csv(int[] t) {
        return Arrays.stream(t).mapToObj(String::valueOf).collect(Collectors.joining(","));
    }

    /** The largest difference between PyTorch's logits [T, V] and ours for the same tokens. */
    static double worst(JsonNode torch, LanguageModel model, int[] tokens) {
        int t = tokens.length;
        Shards fast = new Shards(model, 1, t, 1, false);
        INDArray graph = model.graph(Graph.Mode.INFER, 1, t).logits(new int[][]{tokens});
        double worst = 0;
        for (int pos = 0; pos < t; pos++) {
            float[] ours = fast.logits(new int[][]{tokens}, pos);
            for (int v = 0; v < ours.length; v++) {
                double want = torch.get("logits").get(pos).get(v).asDouble();
                worst = Math.max(worst, Math.abs(want - ours[v]));
                worst = Math.max(worst, Math.abs(want - graph.getDouble(0, pos, v)));
            }
        }
        return worst;
    }

    @Test
    void ourTrainedWeightsGiveTheSameLogitsInTheLecturesPyTorchModules() throws Exception {
        Path run = tmp.resolve("ours");
        Trainer.start(small(), DATA, run).run();
        Path npz = tmp.resolve("ours.npz");
        assertEquals(0, dev.letsbuildgpt.cli.Main.run("export", "--ckpt", run.toString(), "--to", npz.toString()));
        JsonNode torch = python("logits", "--config", run.resolve("config.json").toString(), "--npz", npz.toString(),
                "--tokens", csv(tokens()));
        double worst = worst(torch, Checkpoint.load(run).model(), tokens());
        System.out.printf("exported to PyTorch: the largest logit difference is %.2e%n", worst);
        assertTrue(worst < 1e-5, "logits differ by " + worst);
    }

    @Test
    void weightsTrainedByPyTorchGiveTheSameLogitsAndSamplesHere() throws Exception {
        RunConfig cfg = small().withVocabSize(DATA.tokenizer().vocabSize());
        Path config = tmp.resolve("config.json");
        Files.writeString(config, Json.write(cfg));
        Path npz = tmp.resolve("torch.npz");
        JsonNode torch = python("train", "--config", config.toString(), "--data", TestData.source(), "--seed", "7",
                "--steps", "40", "--npz-out", npz.toString(), "--tokens", csv(tokens()), "--greedy", "60");
        Path run = tmp.resolve("imported");
        assertEquals(0, dev.letsbuildgpt.cli.Main.run("import", "--from", npz.toString(), "--preset", "notebook",
                "--n-embd", "32", "--n-head", "4", "--n-layer", "2", "--block-size", "16", "--out", run.toString(),
                "--data", TestData.source()));
        LanguageModel model = Checkpoint.load(run).model();
        double worst = worst(torch, model, tokens());
        System.out.printf("imported from PyTorch: the largest logit difference is %.2e%n", worst);
        assertTrue(worst < 1e-5, "logits differ by " + worst);
        int[] want = new int[torch.get("greedy").size()];
        for (int i = 0; i < want.length; i++) {
            want[i] = torch.get("greedy").get(i).asInt();
        }
        int[] ours = new Sampler(model, DATA.tokenizer()).generate(new int[]{0},
                new Sampler.Settings(want.length - 1, 1.0, 1, 0), null);   // top-k 1: greedy
        assertArrayEquals(want, ours, "greedy samples, past block_size too");
        // And our own export of the imported weights is the file PyTorch wrote, value for value.
        Path back = tmp.resolve("back.npz");
        PyTorchWeights.write(model.parameters(), back);
        JsonNode again = python("logits", "--config", config.toString(), "--npz", back.toString(), "--tokens",
                csv(tokens()));
        assertEquals(torch.get("logits"), again.get("logits"));
    }
}
