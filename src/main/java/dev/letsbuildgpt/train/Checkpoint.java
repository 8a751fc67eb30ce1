package dev.letsbuildgpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.letsbuildgpt.AtomicFiles;
import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.data.CharTokenizer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Everything needed to sample from a model or to continue training it exactly where it stopped: parameters,
 * optimizer state, step, random-number state, configuration and vocabulary. One zip file of {@code .npy} arrays
 * and JSON, written to a temporary file, flushed to disk and renamed over the old one, so a crash at any moment
 * leaves either the old checkpoint or the new one, never a torn file.
 */
public record Checkpoint(RunConfig config, String vocabulary, int step, String rngState, Double bestValLoss,
                         Map<String, INDArray> params, Map<String, INDArray> optimizer) {

    public static final String FILE_NAME = "checkpoint.zip";
    public static final String BEST_NAME = "best.zip";
    public static final String HISTORY_DIR = "checkpoints";
    static final int FORMAT = 1;

    /** The state record stored as state.json. */
    record State(int format, int step, String rngState, Double bestValLoss, String vocabulary) {
    }

    public CharTokenizer tokenizer() {
        return CharTokenizer.fromVocabulary(vocabulary);
    }

    /** The model this checkpoint holds, with its trained parameters. */
    public dev.letsbuildgpt.model.Gpt model() {
        dev.letsbuildgpt.model.Gpt gpt = new dev.letsbuildgpt.model.Gpt(config.model(), config.train().seed());
        gpt.parameters().assign(params);
        return gpt;
    }

    /** The checkpoint file of a run directory (or the file itself when given one). */
    public static Path fileOf(Path dirOrFile) {
        return Files.isDirectory(dirOrFile) ? dirOrFile.resolve(FILE_NAME) : dirOrFile;
    }

    /** Saves as the run directory's latest checkpoint. */
    public void save(Path runDir) {
        saveAs(runDir.resolve(FILE_NAME));
    }

    /** Saves to {@code target} atomically: a temporary file beside it, flushed, then renamed over it. */
    public void saveAs(Path target) {
        Path tmp = AtomicFiles.tempFor(target);
        try {
            Files.createDirectories(target.toAbsolutePath().getParent());
            try (OutputStream file = Files.newOutputStream(tmp);
                 ZipOutputStream zip = new ZipOutputStream(file)) {
                put(zip, "config.json", Json.write(config).getBytes(StandardCharsets.UTF_8));
                put(zip, "state.json", Json.write(new State(FORMAT, step, rngState, bestValLoss, vocabulary))
                        .getBytes(StandardCharsets.UTF_8));
                for (Map.Entry<String, INDArray> e : params.entrySet()) {
                    put(zip, "params/" + e.getKey() + ".npy", npyBytes(e.getValue()));
                }
                for (Map.Entry<String, INDArray> e : optimizer.entrySet()) {
                    put(zip, "optimizer/" + e.getKey() + ".npy", npyBytes(e.getValue()));
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

    /**
     * Fault injection for the crash test: {@code GPT_FAULT_CHECKPOINT_PAUSE_MS} holds a written but not yet renamed
     * checkpoint for that long, so that kills land inside checkpoint writes. Unset, nothing happens.
     */
    private static void pauseForCrashTests() {
        String ms = System.getenv("GPT_FAULT_CHECKPOINT_PAUSE_MS");
        if (ms != null && !ms.isBlank()) {
            try {
                Thread.sleep(Long.parseLong(ms.trim()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** npy bytes of a fresh contiguous copy: ND4J writes a view's whole backing buffer, not the view. */
    private static byte[] npyBytes(INDArray a) {
        return Nd4j.toNpyByteArray(a.dup('c'));
    }

    private static void put(ZipOutputStream zip, String name, byte[] bytes) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(bytes);
        zip.closeEntry();
    }

    /** Loads a checkpoint from a run directory or a checkpoint file. */
    public static Checkpoint load(Path dirOrFile) {
        Path file = fileOf(dirOrFile);
        if (!Files.exists(file)) {
            throw new GptException("no checkpoint at " + file + " (train a model first, or check --ckpt)");
        }
        try (ZipFile zip = new ZipFile(file.toFile())) {
            RunConfig config = Json.read(text(zip, "config.json", file), RunConfig.class, "checkpoint configuration");
            State state = Json.read(text(zip, "state.json", file), State.class, "checkpoint state");
            if (state.format() != FORMAT) {
                throw new GptException("checkpoint " + file + " has format " + state.format() + ", this version reads "
                        + FORMAT);
            }
            CharTokenizer tok = CharTokenizer.fromVocabulary(state.vocabulary());
            if (tok.vocabSize() != config.model().vocabSize()) {
                throw new GptException("checkpoint " + file + " is inconsistent: vocabulary of " + tok.vocabSize()
                        + " characters, model of " + config.model().vocabSize());
            }
            Map<String, INDArray> params = new LinkedHashMap<>();
            Map<String, INDArray> optimizer = new LinkedHashMap<>();
            var entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                String n = e.getName();
                if (n.endsWith(".npy") && (n.startsWith("params/") || n.startsWith("optimizer/"))) {
                    String key = n.substring(n.indexOf('/') + 1, n.length() - 4);
                    INDArray a = npy(zip, e, file);
                    (n.startsWith("params/") ? params : optimizer).put(key, a);
                }
            }
            if (params.isEmpty()) {
                throw new GptException("checkpoint " + file + " holds no parameters");
            }
            return new Checkpoint(config, state.vocabulary(), state.step(), state.rngState(), state.bestValLoss(),
                    params, optimizer);
        } catch (ZipException e) {
            throw new GptException("not a checkpoint (unreadable or truncated zip): " + file);
        } catch (IOException e) {
            throw new GptException("cannot read checkpoint " + file + ": " + e.getMessage());
        }
    }

    private static String text(ZipFile zip, String name, Path file) throws IOException {
        ZipEntry e = zip.getEntry(name);
        if (e == null) {
            throw new GptException("not a checkpoint (no " + name + " inside): " + file);
        }
        try (InputStream in = zip.getInputStream(e)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static INDArray npy(ZipFile zip, ZipEntry e, Path file) throws IOException {
        try (InputStream in = zip.getInputStream(e)) {
            byte[] bytes = in.readAllBytes();
            if (bytes.length < 10 || bytes[0] != (byte) 0x93 || bytes[1] != 'N') {
                throw new GptException("checkpoint " + file + " has a damaged array " + e.getName());
            }
            return Nd4j.createNpyFromByteArray(bytes).dup();
        } catch (RuntimeException ex) {
            if (ex instanceof GptException) {
                throw ex;
            }
            throw new GptException("checkpoint " + file + " has a damaged array " + e.getName());
        }
    }
}
