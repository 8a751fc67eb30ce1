package dev.letsbuildgpt.model;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/**
 * An independent forward pass of the full GPT stage in plain Java loops over doubles, straight from the lecture's
 * formulas: a second opinion on the SameDiff graph (mask, scale, head order, LayerNorm) that shares no code with it.
 */
final class ReferenceForward {
    private final Map<String, INDArray> p;
    private final GptConfig c;

    ReferenceForward(LanguageModel model) {
        this.p = new java.util.HashMap<>();
        model.parameters().names().forEach(n -> p.put(n, model.parameters().get(n).castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)));
        this.c = model.config();
    }

    /** Logits [T][V] of one sequence. */
    double[][] logits(int[] idx) {
        int t = idx.length;
        int n = c.nEmbd();
        double[][] x = new double[t][n];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < n; j++) {
                x[i][j] = w("token_embedding_table.weight").getDouble(idx[i], j)
                        + w("position_embedding_table.weight").getDouble(i, j);
            }
        }
        for (int l = 0; l < c.nLayer(); l++) {
            String b = "blocks." + l;
            x = add(x, attention(layerNorm(x, b + ".ln1"), b + ".sa"));
            double[][] h = relu(linear(layerNorm(x, b + ".ln2"), b + ".ffwd.net.0"));
            x = add(x, linear(h, b + ".ffwd.net.2"));
        }
        return linear(layerNorm(x, "ln_f"), "lm_head");
    }

    private double[][] attention(double[][] x, String name) {
        int t = x.length;
        int hs = c.headSize();
        double[][] out = new double[t][c.heads() * hs];
        for (int h = 0; h < c.heads(); h++) {
            String head = name + ".heads." + h;
            double[][] k = matmul(x, w(head + ".key.weight"));
            double[][] q = matmul(x, w(head + ".query.weight"));
            double[][] v = matmul(x, w(head + ".value.weight"));
            for (int i = 0; i < t; i++) {
                // Softmax over the positions j <= i only: the causal mask.
                double[] wei = new double[i + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double s = 0;
                    for (int d = 0; d < hs; d++) {
                        s += q[i][d] * k[j][d];
                    }
                    wei[j] = s / Math.sqrt(hs);
                    max = Math.max(max, wei[j]);
                }
                double sum = 0;
                for (int j = 0; j <= i; j++) {
                    wei[j] = Math.exp(wei[j] - max);
                    sum += wei[j];
                }
                for (int j = 0; j <= i; j++) {
                    for (int d = 0; d < hs; d++) {
                        out[i][h * hs + d] += wei[j] / sum * v[j][d];
                    }
                }
            }
        }
        return linear(out, name + ".proj");
    }

    private double[][] layerNorm(double[][] x, String name) {
        double[][] y = new double[x.length][x[0].length];
        for (int i = 0; i < x.length; i++) {
            double mean = 0;
            for (double v : x[i]) {
                mean += v;
            }
            mean /= x[i].length;
            double var = 0;
            for (double v : x[i]) {
                var += (v - mean) * (v - mean);
            }
            var /= x[i].length;
            for (int j = 0; j < x[i].length; j++) {
                y[i][j] = (x[i][j] - mean) / Math.sqrt(var + 1e-5) * w(name + ".weight").getDouble(j)
                        + w(name + ".bias").getDouble(j);
            }
        }
        return y;
    }

    private double[][] linear(double[][] x, String name) {
        double[][] y = matmul(x, w(name + ".weight"));
        INDArray bias = p.get(name + ".bias");
        if (bias != null) {
            for (double[] row : y) {
                for (int j = 0; j < row.length; j++) {
                    row[j] += bias.getDouble(j);
                }
            }
        }
        return y;
    }

    private static double[][] matmul(double[][] x, INDArray w) {
        int in = (int) w.size(0);
        int out = (int) w.size(1);
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < out; j++) {
                double s = 0;
                for (int k = 0; k < in; k++) {
                    s += x[i][k] * w.getDouble(k, j);
                }
                y[i][j] = s;
            }
        }
        return y;
    }

    private static double[][] relu(double[][] x) {
        double[][] y = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            y[i] = java.util.Arrays.stream(x[i]).map(v -> Math.max(0, v)).toArray();
        }
        return y;
    }

    private static double[][] add(double[][] a, double[][] b) {
        double[][] y = new double[a.length][a[0].length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[0].length; j++) {
                y[i][j] = a[i][j] + b[i][j];
            }
        }
        return y;
    }

    private INDArray w(String name) {
        INDArray a = p.get(name);
        if (a == null) {
            throw new IllegalArgumentException("no parameter " + name);
        }
        return a;
    }
}
