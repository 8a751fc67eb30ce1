package dev.letsbuildgpt.compare;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The lecture's reported losses, one per stage preset, with where each number comes from.
 *
 * <p>Sources (docs/REFERENCE.md has the full table): the lecture "Let's build GPT: from scratch, in code, spelled
 * out" and its repository karpathy/ng-video-lecture (bigram.py, gpt.py, gpt-dev.ipynb); values marked approximate
 * were read off the video. The PyTorch column was measured with an independent PyTorch re-implementation of each stage
 * (shared/reference/torch_train.py, default PyTorch initialisation, AdamW, seed 1337).
 */
public final class Lecture {
    private Lecture() {
    }

    /** ln 65: the loss of a uniform guess over the vocabulary, the lecture's "expected initial loss". */
    public static final double INITIAL_LOSS = Math.log(65);

    /** What the lecture reports for one stage. */
    public record Reference(String preset, String stage, double valLoss, boolean approximate, Double pytorchValLoss,
                            long params, String source) {
        /** The lecture's number as printed: "~2.49" for a value read off the video. */
        public String lectureText() {
            return approximate ? String.format(java.util.Locale.ROOT, "~%.2f", valLoss)
                    : String.format(java.util.Locale.ROOT, "%.4f", valLoss);
        }
    }

    private static final Map<String, Reference> BY_PRESET = new LinkedHashMap<>();

    static {
        add("bigram", "bigram model", 2.49, true, 2.4886, 4_225, "bigram.py");
        add("head", "one self-attention head", 2.40, true, 2.4096, 7_553, "the video (gpt-dev.ipynb's path)");
        add("multihead", "multi-head attention, 4 heads", 2.28, true, 2.2717, 7_553, "the video");
        add("ffwd", "+ feed-forward", 2.24, true, 2.2401, 8_609, "the video");
        add("residual", "3 blocks, residual connections", 2.08, true, 2.0823, 41_921, "the video");
        add("layernorm", "+ LayerNorm", 2.06, true, 2.0685, 42_369, "the video");
        add("notebook", "scaled up (gpt-dev.ipynb, last cell)", 1.8222, false, 1.8139, 209_729, "gpt-dev.ipynb");
        add("gpt", "the lecture's final model (GPU)", 1.48, true, null, 10_788_929, "gpt.py");
    }

    private static void add(String preset, String stage, double val, boolean approx, Double torch, long params,
                            String source) {
        BY_PRESET.put(preset, new Reference(preset, stage, val, approx, torch, params, source));
    }

    /** The lecture's number for a preset, if the lecture trained that model. */
    public static Optional<Reference> of(String preset) {
        return Optional.ofNullable(BY_PRESET.get(preset));
    }

    /** A preset's place in the lecture (its stages in order; other presets after them). */
    public static int order(String preset) {
        int i = new java.util.ArrayList<>(BY_PRESET.keySet()).indexOf(preset);
        return i < 0 ? Integer.MAX_VALUE : i;
    }

    /** The stage presets that run on a CPU in minutes, in the lecture's order (all but the GPU model). */
    public static List<String> cpuStages() {
        return BY_PRESET.keySet().stream().filter(p -> !p.equals("gpt")).toList();
    }
}
