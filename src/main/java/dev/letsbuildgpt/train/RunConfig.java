package dev.letsbuildgpt.train;

import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.model.GptConfig;
import dev.letsbuildgpt.model.Stage;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.List;
import java.util.ArrayList;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

/**
 * Everything that defines a training run: a preset's name, the model, and the training settings.
 *
 * <p>The one way to configure a run, shared by the CLI, the notebooks and the tests: start from a
 * {@link #preset(String)} and apply overrides named as the lecture names its variables, in kebab case
 * ({@code batch-size}, {@code n-embd}, ...). The vocabulary size comes from the data ({@link #withVocabSize}).
 */
public record RunConfig(String preset, GptConfig model, TrainConfig train) {

    /** Tiny Shakespeare's vocabulary: presets use it until the data says otherwise. */
    public static final int SHAKESPEARE_VOCAB = 65;

    private static final Map<String, RunConfig> PRESETS = new LinkedHashMap<>();

    static {
        // The lecture's stages (shared/REFERENCE_NUMBERS.md): bigram.py, then the models of the video at n_embd 32.
        add("bigram", Stage.BIGRAM, 8, 0, 0, 0, 0.0, TrainConfig.lecture(32, 3000, 300, 1e-2));
        add("head", Stage.HEAD, 8, 32, 1, 0, 0.0, TrainConfig.lecture(32, 5000, 500, 1e-3));
        add("multihead", Stage.MULTIHEAD, 8, 32, 4, 0, 0.0, TrainConfig.lecture(32, 5000, 500, 1e-3));
        add("ffwd", Stage.FFWD, 8, 32, 4, 0, 0.0, TrainConfig.lecture(32, 5000, 500, 1e-3));
        add("residual", Stage.RESIDUAL, 8, 32, 4, 3, 0.0, TrainConfig.lecture(32, 5000, 500, 1e-3));
        add("layernorm", Stage.GPT, 8, 32, 4, 3, 0.0, TrainConfig.lecture(32, 5000, 500, 1e-3));
        // gpt-dev.ipynb's last cell.
        add("notebook", Stage.GPT, 32, 64, 4, 4, 0.0, TrainConfig.lecture(16, 5000, 100, 1e-3));
        // nanoGPT's CPU sizes with the lecture's model and constant learning rate: the default of `make train`.
        add("cpu", Stage.GPT, 64, 128, 4, 4, 0.0, TrainConfig.lecture(12, 2000, 250, 1e-3));
        // gpt.py, the lecture's final model: a GPU job (about 15 minutes on an A100).
        add("gpt", Stage.GPT, 256, 384, 6, 6, 0.2, TrainConfig.lecture(64, 5000, 500, 3e-4));
    }

    private static void add(String name, Stage stage, int block, int nEmbd, int nHead, int nLayer, double dropout,
                            TrainConfig train) {
        PRESETS.put(name, new RunConfig(name,
                new GptConfig(stage, SHAKESPEARE_VOCAB, block, nEmbd, nHead, nLayer, dropout, true), train));
    }

    /** A preset by name; an unknown name is an error that lists the known ones. */
    public static RunConfig preset(String name) {
        RunConfig c = PRESETS.get(name == null ? "" : name.toLowerCase(Locale.ROOT));
        if (c == null) {
            throw new GptException("unknown preset '" + name + "'; choose one of " + String.join(", ", PRESETS.keySet()));
        }
        return c;
    }

    public static Iterable<String> presetNames() {
        return PRESETS.keySet();
    }

    /** This configuration with one setting changed; {@code value} is parsed as the setting's type. */
    public RunConfig with(String setting, String value) {
        ObjectNode tree = Json.KEBAB.valueToTree(this);
        ObjectNode section = tree.get("model").has(setting) ? (ObjectNode) tree.get("model")
                : tree.get("train").has(setting) ? (ObjectNode) tree.get("train") : null;
        if (section == null || setting.equals("vocab-size")) {
            throw new GptException("unknown setting '" + setting + "'; known settings: "
                    + String.join(", ", settingNames()));
        }
        JsonNode old = section.get(setting);
        String v = value.trim();
        try {
            section.set(setting, old.isTextual() ? TextNode.valueOf(v.toUpperCase(Locale.ROOT))
                    : old.isBoolean() ? BooleanNode.valueOf(bool(v))
                    : old.isIntegralNumber() ? LongNode.valueOf(Long.parseLong(v))
                    : DoubleNode.valueOf(finite(v)));
        } catch (NumberFormatException e) {
            throw new GptException("setting " + setting + " needs " + (old.isIntegralNumber() ? "an integer" : "a number")
                    + ", got '" + value + "'");
        }
        if (setting.equals("max-iters") && old.asLong() == train.lrDecayIters()) {
            ((ObjectNode) tree.get("train")).set("lr-decay-iters", section.get(setting));  // nanoGPT: decay over the run
        }
        return Json.read(Json.KEBAB, tree, RunConfig.class, "setting " + setting);
    }

    /** This configuration with several settings changed, in order. */
    public RunConfig with(Map<String, String> overrides) {
        RunConfig c = this;
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            c = c.with(e.getKey(), e.getValue());
        }
        return c;
    }

    public RunConfig withVocabSize(int vocabSize) {
        return new RunConfig(preset, model.withVocabSize(vocabSize), train);
    }

    public RunConfig withModel(GptConfig m) {
        return new RunConfig(preset, m, train);
    }

    public RunConfig withTrain(TrainConfig t) {
        return new RunConfig(preset, model, t);
    }

    /** The settings that can be overridden, by their kebab-case names. */
    public static List<String> settingNames() {
        List<String> names = new ArrayList<>();
        ObjectNode tree = Json.KEBAB.valueToTree(preset("cpu"));
        tree.get("model").fieldNames().forEachRemaining(n -> {
            if (!n.equals("vocab-size")) {
                names.add(n);
            }
        });
        tree.get("train").fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static double finite(String v) {
        double x = Double.parseDouble(v);
        if (!Double.isFinite(x)) {
            throw new NumberFormatException(v);
        }
        return x;
    }

    private static boolean bool(String v) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1", "on" -> true;
            case "false", "no", "0", "off" -> false;
            default -> throw new GptException("expected true or false, got '" + v + "'");
        };
    }
}
