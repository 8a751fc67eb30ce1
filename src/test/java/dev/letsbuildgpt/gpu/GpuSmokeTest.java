package dev.letsbuildgpt.gpu;

import dev.letsbuildgpt.TestData;
import dev.letsbuildgpt.data.Dataset;
import dev.letsbuildgpt.train.Metrics;
import dev.letsbuildgpt.train.RunConfig;
import dev.letsbuildgpt.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A few steps of the lecture's final model ({@code gpt} preset) on the GPU, with its speed. Runs only on the CUDA
 * backend ({@code mvn -Pcuda test}); on the CPU build it is skipped with a notice.
 */
class GpuSmokeTest {
    @Test
    void theGptPresetTrainsOnTheGpu(@TempDir Path dir) {
        Object backend = Nd4j.getExecutioner().getEnvironmentInformation().get("backend");
        assumeTrue("CUDA".equalsIgnoreCase(String.valueOf(backend)),
                "GPU smoke test skipped: the ND4J backend is " + backend + " (build with -Pcuda on a machine with a GPU)");
        int steps = 20;
        RunConfig cfg = RunConfig.preset("gpt").with("max-iters", String.valueOf(steps))
                .with("eval-interval", String.valueOf(steps)).with("eval-iters", "5");
        Trainer trainer = Trainer.start(cfg, Dataset.of(TestData.shakespeare()), dir);
        Metrics.Evaluation last = trainer.run();
        Metrics.Evaluation start = trainer.evaluations().get(0);
        System.out.printf("GPU smoke test: %d steps of the gpt preset (%,d parameters), %,.0f tokens/s, loss %.4f -> %.4f%n",
                steps, trainer.model().parameters().count(), last.tokensPerSec(),
                start.valLoss(), last.valLoss());
        assertTrue(Double.isFinite(last.valLoss()) && last.valLoss() < start.valLoss(), "20 steps should lower the loss");
    }
}
