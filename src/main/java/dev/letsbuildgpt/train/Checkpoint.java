package dev.letsbuildgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.letsbuildgpt.AtomicFiles;
import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.data.CharTokenizer;
import dev.letsbuildgpt.model.LanguageModel;
import dev.letsbuildgpt.model.Parameters;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Everything needed to sample from a model or to continue training it exactly where it stopped: parameters, AdamW's
 * moments, step, the batch sampler's random state, configuration and vocabulary. One zip file of {@code .npy} arrays
 * (float32, named as the lecture's PyTorch modules name their parameters) and JSON, written to a temporary file,
 * flushed to disk and renamed over the old one, so a crash at any moment leaves either the old checkpoint or the new
 * one, never a torn file.
 *
 * @param trainedBy which way of computing gradients trained it: "fast" (the CPU fast path) or "samediff" (SameDiff's
 *                  graph, as on a GPU), in the order first used; "format 1" for checkpoints of earlier versions
 */
public record Checkpoint(RunConfig config, String vocabulary, int step, long rngState, Double bestValLoss,
                         String trainedBy, Map<String, float[]> params, Map<String, float[]> optimizer) {

    public static final String FILE_NAME = "checkpoint.zip";
    public static final String BEST_NAME = "best.zip";
    public static final String HISTORY_DIR = "checkpoints";
    /** 2: a plain-number random state and the path that trained it. 1 (still read): earlier versions. */
    static final int FORMAT = 2;

    /** The state record stored as state.json. */
    record State(int format, int step, long rngState, Double bestValLoss, String vocabulary, String trainedBy) {
    }

    public CharTokenizer tokenizer() {
        return CharTokenizer.fromVocabulary(vocabulary);
    }

    /** The model this checkpoint holds, with its trained parameters. */
    public LanguageModel model() {
        LanguageModel m = LanguageModel.create(config.model(), config.train().seed());
        m.parameters().assign(params);
        return m;
    }

    /** The checkpoint file of a run directory (or the file itself when given one). */
    public static Path fileOf(Path dirOrFile) {
        return Files.isDirectory(dirOrFile) ? dirOrFile.resolve(FILE_NAME) : dirOrFile;
    }

    /** Saves as the run directory's latest checkpoint. */
    public void save(Path runDir, Parameters shapes) {
        saveAs(runDir.resolve(FILE_NAME), shapes);
    }

    /** Saves to {@code target} atomically: a temporary file beside it, flushed, then renamed over it. */
    public void saveAs(Path target, Parameters shapes) {
        Path tmp = AtomicFiles.tempFor(target);
        try {
            Files.createDirectories(target.toAbsolutePath().getParent());
            try (OutputStream file = Files.newOutputStream(tmp);
                 ZipOutputStream zip = new ZipOutputStream(file)) {
                put(zip, "config.json", Json.write(config).getBytes(StandardCharsets.UTF_8));
                put(zip, "state.json", Json.write(new State(FORMAT, step, rngState, bestValLoss, vocabulary, trainedBy))
                        .getBytes(StandardCharsets.UTF_8));
                for (Map.Entry<String, float[]> e : params.entrySet()) {
                    put(zip, "params/" + e.getKey() + ".npy", Npy.write(e.getValue(), shapes.parameter(e.getKey()).shape()));
                }
                for (Map.Entry<String, float[]> e : optimizer.entrySet()) {
                    put(zip, "optimizer/" + e.getKey() + ".npy", Npy.write(e.getValue(), shapes.parameter(parameterOf(e.getKey())).shape()));
                }
            }
            pauseForCrashTests();
            AtomicFiles.commit(tmp, target);
        } catch (IOException e) {
            AtomicFiles.deleteQuietly(tmp);
            throw new GptException("cannot write checkpoint " + target + " (" + AtomicFiles.describe(e) + "); the previous"
                    + " checkpoint is kept");
        }
    }

    /** {@code name.M} -> name */
    private static String parameterOf(String optimizerKey) {
        return optimizerKey.substring(0, optimizerKey.lastIndexOf('.'));
    }

    /**
     * Gives the file {@code source} a second name, atomically (a hard link, or a copy where links are not
     * supported): how the trainer keeps {@code best.zip} and the last checkpoints without writing them twice.
     */
    static void link(Path source, Path target) {
        Path tmp = AtomicFiles.tempFor(target);
        try {
            Files.createDirectories(target.toAbsolutePath().getParent());
            Files.deleteIfExists(tmp);
            try {
                Files.createLink(tmp, source);
            } catch (UnsupportedOperationException | IOException e) {
                Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            AtomicFiles.deleteQuietly(tmp);
            throw new GptException("cannot write checkpoint " + target + " (" + AtomicFiles.describe(e) + ")");
        }
    }

    /** The system property of {@link #pauseForCrashTests}. */
    static final String PAUSE_PROPERTY = "gpt.test.checkpointPauseMs";

    /**
     * Fault injection for the crash test (CrashResumeTest, which starts trainers with {@code
     * -Dgpt.test.checkpointPauseMs=150}): holds a written but not yet renamed checkpoint for that long, so that kills
     * land inside checkpoint writes. A JVM system property, not an environment variable, so that nothing in a user's
     * environment can switch it on; unset, nothing happens.
     */
    private static void pauseForCrashTests() {
        String ms = System.getProperty(PAUSE_PROPERTY);
        if (ms != null && !ms.isBlank()) {
            try {
                Thread.sleep(Long.parseLong(ms.trim()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void put(ZipOutputStream zip, String name, byte[] bytes) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(bytes);
        zip.closeEntry();
    }

    /** Loads a checkpoint from a run directory or a checkpoint file (this format or format 1). */
    public static Checkpoint load(Path dirOrFile) {
        Path file = fileOf(dirOrFile);
        if (!Files.exists(file)) {
            throw new GptException("no checkpoint at " + file + " (train a model first, or check the path)");
        }
        try (ZipFile zip = new ZipFile(file.toFile())) {
            JsonNode stateTree = tree(text(zip, "state.json", file), "checkpoint state");
            int format = stateTree.path("format").asInt(-1);
            if (format != FORMAT && format != 1) {
                throw new GptException("checkpoint " + file + " has format " + stateTree.path("format")
                        + "; this version reads formats 1 and " + FORMAT);
            }
            JsonNode configTree = tree(text(zip, "config.json", file), "checkpoint configuration");
            if (format == 1) {
                stateTree = Legacy.state(stateTree, file);
            }
            configTree = Legacy.config(configTree);   // settings added since a checkpoint was written take defaults
            RunConfig config = Json.read(Json.SNAKE, configTree, RunConfig.class, "checkpoint configuration");
            State state = Json.read(Json.SNAKE, stateTree, State.class, "checkpoint state");
            CharTokenizer tok = CharTokenizer.fromVocabulary(state.vocabulary());
            if (tok.vocabSize() != config.model().vocabSize()) {
                throw new GptException("checkpoint " + file + " is inconsistent: vocabulary of " + tok.vocabSize()
                        + " characters, model of " + config.model().vocabSize());
            }
            Parameters shapes = shapesOf(config, file);
            Map<String, float[]> params = new LinkedHashMap<>();
            Map<String, float[]> optimizer = new LinkedHashMap<>();
            var entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                String n = e.getName();
                boolean isParam = n.startsWith("params/");
                if (!n.endsWith(".npy") || !(isParam || n.startsWith("optimizer/"))) {
                    continue;
                }
                String key = n.substring(n.indexOf('/') + 1, n.length() - 4);
                if (format == 1) {
                    key = Legacy.name(key, config);
                }
                String param = isParam ? key : parameterOf(key);
                if (!shapes.named().containsKey(param) || (!isParam && !key.endsWith(".M") && !key.endsWith(".V"))) {
                    throw new GptException("checkpoint " + file + " holds an array its model does not have: " + n);
                }
                Parameters.Parameter p = shapes.parameter(param);
                // The entry's declared size must be what the model's shape implies (a .npy header is under 4 KB):
                // nothing beyond that is ever read.
                long expected = 4L * p.size();
                if (e.getSize() > expected + 4096) {
                    throw new GptException(String.format("checkpoint %s has an array too large for its model: %s holds"
                                    + " %,d bytes where the shape its configuration implies, %s, takes %,d", file, n,
                            e.getSize(), Arrays.toString(p.shape()), expected));
                }
                float[] values = npy(zip, e, file, p.shape());
                requireFinite(values, n, file);
                (isParam ? params : optimizer).put(key, values);
            }
            if (!params.keySet().equals(shapes.named().keySet())) {
                var missing = new java.util.ArrayList<>(shapes.names());
                missing.removeAll(params.keySet());
                throw new GptException("checkpoint " + file + " lacks " + missing.size() + " of its model's "
                        + shapes.names().size() + " parameters, such as " + missing.get(0));
            }
            if (!optimizer.isEmpty() && optimizer.size() != 2 * params.size()) {
                throw new GptException("checkpoint " + file + " holds the optimizer's state for only some parameters ("
                        + optimizer.size() + " arrays for " + params.size() + ")");
            }
            return new Checkpoint(config, state.vocabulary(), state.step(), state.rngState(), state.bestValLoss(),
                    state.trainedBy(), params, optimizer);
        } catch (ZipException e) {
            throw new GptException("not a checkpoint (unreadable or truncated zip): " + file);
        } catch (IOException e) {
            throw new GptException("cannot read checkpoint " + file + ": " + e.getMessage());
        }
    }

    /**
     * The names and shapes of the parameters a checkpoint's configuration implies, found without allocating them, and
     * refused when its arrays (weights and the optimizer's two moments) would not fit in this JVM's memory.
     */
    private static Parameters shapesOf(RunConfig config, Path file) {
        long heap = Runtime.getRuntime().maxMemory();
        long maxValues = heap / 4 / 3 / 2;   // float weights and two moments, and room to compute with them
        try {
            return LanguageModel.shapes(config.model(), maxValues, 1_000_000);
        } catch (Parameters.TooLarge e) {
            throw new GptException(String.format("checkpoint %s describes a model of %s; its weights and optimizer"
                            + " state would need over %,d MB, and this JVM has %,d MB (java -Xmx sets more)", file,
                    e.tensors >= 1_000_000 ? "over a million arrays" : String.format("over %,d values", e.values),
                    e.values * 12 >> 20, heap >> 20));
        }
    }

    /** NaN or infinite values in a checkpoint would only surface later, as a failed sample or a NaN loss. */
    private static void requireFinite(float[] values, String entry, Path file) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new GptException("checkpoint " + file + " holds non-finite values (" + values[i] + " at index "
                        + i + " of " + entry + "); its training had diverged, or the file was altered");
            }
        }
    }

    private static JsonNode tree(String json, String what) {
        try {
            return Json.SNAKE.readTree(json);
        } catch (IOException e) {
            throw new GptException(what + " is not valid JSON");
        }
    }

    private static String text(ZipFile zip, String name, Path file) throws IOException {
        ZipEntry e = zip.getEntry(name);
        if (e == null) {
            throw new GptException("not a checkpoint (no " + name + " inside): " + file);
        }
        try (InputStream in = zip.getInputStream(e)) {
            return new String(in.readNBytes(1 << 20), StandardCharsets.UTF_8);
        }
    }

    private static float[] npy(ZipFile zip, ZipEntry e, Path file, long[] shape) throws IOException {
        try (InputStream in = zip.getInputStream(e)) {
            return Npy.read(in, shape);
        } catch (Npy.FormatException | java.io.EOFException ex) {
            throw new GptException("checkpoint " + file + " has a bad array " + e.getName() + ": "
                    + (ex.getMessage() == null ? "cut short" : ex.getMessage()));
        }
    }

    /** Reading checkpoints of format 1 (before the model's redesign). */
    static final class Legacy {
        private Legacy() {
        }

        /** Format 1's state: the random state as a serialized java.util.Random, no record of the path. */
        static JsonNode state(JsonNode tree, Path file) {
            ObjectNode s = (ObjectNode) tree.deepCopy();
            s.put("format", FORMAT);
            s.put("rng_state", randomState(s.path("rng_state").asText(), file));
            s.put("trained_by", "format 1");
            return s;
        }

        /**
         * Settings added after a checkpoint was written: format 1 had no shards (the default), and neither format 1
         * nor the first checkpoints of format 2 had a choice about residual connections (on).
         */
        static JsonNode config(JsonNode tree) {
            ObjectNode c = (ObjectNode) tree.deepCopy();
            if (c.path("train").isObject() && !c.path("train").has("shards")) {
                ((ObjectNode) c.get("train")).put("shards", dev.letsbuildgpt.model.Shards.DEFAULT);
            }
            if (c.path("model").isObject() && !c.path("model").has("residual")) {
                ((ObjectNode) c.get("model")).put("residual", true);
            }
            return c;
        }

        /** Format 1 named the HEAD stage's single head like a head of several ({@code sa_head.heads.0.key}). */
        static String name(String key, RunConfig config) {
            return key.startsWith("sa_head.heads.0.") ? "sa_head." + key.substring("sa_head.heads.0.".length()) : key;
        }

        /**
         * The state of a java.util.Random from the bytes Java serialization wrote for it, read as bytes (never
         * deserialized: a checkpoint is outside data). The stream is always the same but for its last fields: the
         * 48-bit seed, just before the end-of-data marker.
         */
        static long randomState(String base64, Path file) {
            byte[] bytes;
            byte[] template = serialized(new java.util.Random(0));
            try {
                bytes = Base64.getDecoder().decode(base64);
            } catch (IllegalArgumentException e) {
                bytes = new byte[0];
            }
            int seedAt = template.length - 9;
            boolean same = bytes.length == template.length
                    && Arrays.equals(bytes, 0, seedAt - 9, template, 0, seedAt - 9)
                    && bytes[bytes.length - 1] == template[template.length - 1];
            long state = same ? ByteBuffer.wrap(bytes, seedAt, 8).getLong() : -1;
            if (state < 0 || state >= 1L << 48) {
                throw new GptException("checkpoint " + file + " (format 1) holds an unreadable random-number state");
            }
            return state;
        }

        private static byte[] serialized(java.util.Random r) {
            try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                 ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(r);
                out.flush();
                return bytes.toByteArray();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
