package dev.letsbuildgpt.train;

import dev.letsbuildgpt.AtomicFiles;
import dev.letsbuildgpt.GptException;
import dev.letsbuildgpt.model.Parameters;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * A model's weights as PyTorch holds them: a NumPy {@code .npz} (a zip of {@code .npy} arrays) whose keys are the
 * lecture's {@code state_dict} keys ({@code blocks.0.sa.heads.1.key.weight}, ...) and whose linear weights are
 * [out, in], as {@code nn.Linear} stores them. So {@code model.load_state_dict({k: torch.from_numpy(v) for k, v in
 * numpy.load(path).items()}, strict=False)} loads it into the lecture's modules (strict=False because the lecture's
 * heads also keep their causal mask, {@code tril}, as a buffer), and {@code numpy.savez(path, **{k: v.numpy() for k,
 * v in model.state_dict().items()})} writes one this reads back.
 */
public final class PyTorchWeights {
    private PyTorchWeights() {
    }

    /** Writes the parameters' current values as {@code .npz}. */
    public static void write(Parameters params, Path npz) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (String name : params.names()) {
                Parameters.Parameter p = params.parameter(name);
                float[] v = params.values(name);
                long[] shape = p.shape();
                if (params.isLinearWeight(name)) {
                    v = transpose(v, (int) shape[0], (int) shape[1]);
                    shape = new long[]{shape[1], shape[0]};
                }
                zip.putNextEntry(new ZipEntry(name + ".npy"));
                zip.write(Npy.write(v, shape));
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);   // in memory
        }
        AtomicFiles.write(npz, bytes.toByteArray());
    }

    /**
     * Reads weights written by PyTorch (or {@link #write}) into the parameters: every parameter must be there with
     * its shape; PyTorch's causal-mask buffers ({@code *.tril}) are skipped; anything else is an error.
     */
    public static void read(Path npz, Parameters params) {
        if (!Files.isRegularFile(npz)) {
            throw new GptException("no weights at " + npz);
        }
        Set<String> seen = new HashSet<>();
        try (ZipFile zip = new ZipFile(npz.toFile())) {
            var entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                String key = e.getName().endsWith(".npy") ? e.getName().substring(0, e.getName().length() - 4) : e.getName();
                if (key.endsWith(".tril")) {
                    continue;
                }
                if (!params.named().containsKey(key)) {
                    throw new GptException(npz + " holds " + key + ", which the model does not have");
                }
                Parameters.Parameter p = params.parameter(key);
                long[] shape = p.shape();
                boolean linear = params.isLinearWeight(key);
                long[] stored = linear ? new long[]{shape[1], shape[0]} : shape;
                float[] v;
                try (InputStream in = zip.getInputStream(e)) {
                    v = Npy.read(in, stored);
                } catch (Npy.FormatException ex) {
                    throw new GptException(npz + ": " + key + ": " + ex.getMessage());
                }
                params.set(key, linear ? transpose(v, (int) stored[0], (int) stored[1]) : v);
                seen.add(key);
            }
        } catch (IOException e) {
            throw new GptException("cannot read " + npz + " (" + AtomicFiles.describe(e) + ")");
        }
        if (seen.size() != params.names().size()) {
            var missing = new java.util.ArrayList<>(params.names());
            missing.removeAll(seen);
            throw new GptException(npz + " lacks " + missing.size() + " of the model's parameters, such as "
                    + missing.get(0));
        }
    }

    /** [rows, cols] row-major -> [cols, rows] row-major */
    private static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = a[r * cols + c];
            }
        }
        return t;
    }
}
