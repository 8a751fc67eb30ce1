package dev.letsbuildgpt.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The full GPT's forward and backward pass written out by hand, with AdamW: what training runs.
 *
 * <p>{@link Gpt#graph} builds the same model as a SameDiff graph and lets SameDiff derive the backward pass. That is
 * correct but slow at these sizes: SameDiff spends tens of microseconds of bookkeeping on each of the thousand-odd
 * ops of a step, and ND4J's element-wise kernels ran at 1 to 20 ns per value here, so the ops around the matmuls
 * cost more than the matmuls (docs/BENCHMARKS.md). This class does the same arithmetic, op for op, with the
 * gradients derived by hand, as in the lecture series' "becoming a backprop ninja": matmuls go to OpenBLAS
 * ({@link Sgemm}), everything else is a plain Java loop over float arrays (which the JIT vectorises), and every
 * array is allocated once. Its loss and gradients equal SameDiff's (tested), and it draws the same dropout masks.
 *
 * <p>Layouts: activations are [N, C] row-major, N = B*T rows, one per position. The key, query and value weights of
 * all heads sit side by side in one [C, 3C] matrix per block (queries, then keys, then values, head by head), so one
 * matmul computes every head's q, k and v; a head of a sequence is then a [T, hs] block of that [N, 3C] matrix,
 * which BLAS reads in place with a row stride of 3C.
 *
 * <p>The model's parameter arrays (and SameDiff's optimizer state) stay the truth between calls: {@link #pull} copies
 * them in before training steps, {@link #push} copies the trained values back, so checkpoints, sampling and the
 * SameDiff graphs see them.
 */
public final class ManualBackprop {
    private final Gpt model;
    private final int batch;
    private final int time;
    private final int n;
    private final int c;
    private final int heads;
    private final int hs;
    private final int vocab;
    private final double dropout;
    private final float scale;
    private final Map<String, long[]> maskShapes = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private final Tensor tokenTable;
    private final Tensor positionTable;
    private final Norm lnF;
    private final Tensor lmW;
    private final Tensor lmB;
    private final Layer[] layers;

    // Activations and scratch space
    private final int[] idx;                 // [N]
    private final int[] targets;             // [N]
    private final float[] x;                 // [N, C] the residual stream, updated in place
    private final float[] probs;             // [N, V] softmax of the logits, then the logits' gradient
    private final float[] tmp;               // [N, C]
    private final float[] dx;                // [N, C] gradient of the residual stream
    private final float[] dh;                // [N, C]
    private final float[] dy;                // [N, C]
    private final float[] dqkv;              // [N, 3C]
    private final float[] datt;              // [B*H, T, T]
    private final float[] attDropped;        // [B*H, T, T] attention weights after dropout (with dropout only)
    private final float[] dr;                // [N, 4C]
    private final FloatBuffer qkvD;          // direct copies for the per-head products
    private final FloatBuffer attD;
    private final FloatBuffer yD;
    private final FloatBuffer dqkvD;
    private Map<String, float[]> masks = Map.of();

    /** @param batch sequences per step; every sequence is block_size long */
    public ManualBackprop(Gpt model, int batch) {
        GptConfig cfg = model.config();
        if (!supports(cfg)) {
            throw new IllegalArgumentException("hand-written backprop covers the full GPT stage, not " + cfg.stage());
        }
        if (model.parameters().dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("hand-written backprop computes in float32");
        }
        this.model = model;
        this.batch = batch;
        this.time = cfg.blockSize();
        this.n = batch * time;
        this.c = cfg.nEmbd();
        this.heads = cfg.nHead();
        this.hs = cfg.headSize();
        this.vocab = cfg.vocabSize();
        this.dropout = cfg.dropout();
        this.scale = (float) Math.pow(hs, -0.5);
        int f = 4 * c;
        long att = (long) batch * heads * time * time;
        idx = new int[n];
        targets = new int[n];
        x = new float[n * c];
        probs = new float[n * vocab];
        tmp = new float[n * c];
        dx = new float[n * c];
        dh = new float[n * c];
        dy = new float[n * c];
        dqkv = new float[n * 3 * c];
        datt = new float[Math.toIntExact(att)];
        attDropped = new float[dropout > 0 ? Math.toIntExact(att) : 0];
        dr = new float[n * f];
        qkvD = Sgemm.direct((long) n * 3 * c);
        attD = Sgemm.direct(att);
        yD = Sgemm.direct((long) n * c);
        dqkvD = Sgemm.direct((long) n * 3 * c);

        tokenTable = tensor(model.tokenEmbedding.weight);
        positionTable = tensor(model.positionEmbedding.weight);
        layers = new Layer[cfg.nLayer()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = new Layer(model.blocks.get(i), "blocks." + i);
        }
        lnF = new Norm(model.lnF);
        lmW = tensor(model.lmHead.weight);
        lmB = model.lmHead.bias == null ? null : tensor(model.lmHead.bias);
        pull(null, null);
    }

    /** The full GPT (pre-norm blocks, ln_f) is what this class implements; the lecture's earlier stages use SameDiff. */
    public static boolean supports(GptConfig cfg) {
        return cfg.stage() == Stage.GPT;
    }

    public int batchSize() {
        return batch;
    }

    /** The mean cross-entropy of a batch, without dropout (estimate_loss), with the weights last pulled. */
    public double loss(int[][] idx, int[][] targets) {
        masks = Map.of();
        return forward(idx, targets);
    }

    /**
     * Forward and backward pass of one training batch, with the weights last pulled. Returns the loss; the gradients
     * are kept for {@link #gradients()} and {@link #adamW}.
     *
     * @param dropoutSeed this step's dropout masks: the same masks as {@link GptGraph} draws for the seed
     */
    public double lossAndGradients(int[][] idx, int[][] targets, long dropoutSeed) {
        masks = new LinkedHashMap<>();
        GptGraph.drawDropoutMasks(maskShapes, dropout, DataType.FLOAT, dropoutSeed)
                .forEach((name, m) -> masks.put(name, m.data().asFloat()));
        double loss = forward(idx, targets);
        backward();
        return loss;
    }

    // ---------------------------------------------------------------------------------------------------- forward

    private double forward(int[][] ids, int[][] next) {
        flatten(ids, idx);
        flatten(next, targets);
        // x = token_embedding_table[idx] + position_embedding_table[t]
        for (int row = 0; row < n; row++) {
            int tok = idx[row] * c;
            int pos = (row % time) * c;
            int o = row * c;
            for (int j = 0; j < c; j++) {
                x[o + j] = tokenTable.w[tok + j] + positionTable.w[pos + j];
            }
        }
        for (Layer l : layers) {
            l.forward();
        }
        lnF.forward(x);
        linear(lnF.out, lmW, lmB, probs, n, c, vocab);   // logits
        // softmax and cross-entropy, row by row: loss = logsumexp(logits) - logits[target]
        double loss = 0;
        for (int row = 0; row < n; row++) {
            int o = row * vocab;
            float max = Float.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) {
                max = Math.max(max, probs[o + v]);
            }
            double sum = 0;
            float target = probs[o + targets[row]];
            for (int v = 0; v < vocab; v++) {
                float e = (float) Math.exp(probs[o + v] - max);
                probs[o + v] = e;
                sum += e;
            }
            float inv = (float) (1 / sum);
            for (int v = 0; v < vocab; v++) {
                probs[o + v] *= inv;
            }
            loss += Math.log(sum) - (target - max);
        }
        return loss / n;
    }

    // --------------------------------------------------------------------------------------------------- backward

    private void backward() {
        for (Tensor t : tensors) {
            Arrays.fill(t.g, 0f);
        }
        // d loss / d logits = (softmax - one_hot(targets)) / N
        float inv = 1f / n;
        for (int row = 0; row < n; row++) {
            probs[row * vocab + targets[row]] -= 1f;
        }
        for (int i = 0; i < probs.length; i++) {
            probs[i] *= inv;
        }
        linearBackward(lnF.out, lmW, lmB, probs, dh, n, c, vocab);
        Arrays.fill(dx, 0f);
        lnF.backward(dh, dx);
        for (int i = layers.length - 1; i >= 0; i--) {
            layers[i].backward();
        }
        // The embeddings: each row's gradient goes back to the table rows it was read from.
        for (int row = 0; row < n; row++) {
            int tok = idx[row] * c;
            int pos = (row % time) * c;
            int o = row * c;
            for (int j = 0; j < c; j++) {
                tokenTable.g[tok + j] += dx[o + j];
                positionTable.g[pos + j] += dx[o + j];
            }
        }
    }

    /** One transformer block: its weights, and what its forward pass keeps for the backward pass. */
    private final class Layer {
        final Norm ln1;
        final Norm ln2;
        final Tensor qkv;                   // [C, 3C]: every head's query, key and value weights side by side
        final Tensor projW;
        final Tensor projB;
        final Tensor w1;
        final Tensor b1;
        final Tensor w2;
        final Tensor b2;
        final float[] qkvOut;               // [N, 3C]
        final float[] att;                  // [B*H, T, T] attention weights (before dropout)
        final float[] y;                    // [N, C] the heads' outputs side by side
        final float[] hidden;               // [N, 4C] after ReLU
        final String attnMask;
        final String projMask;
        final String ffwdMask;

        Layer(Block block, String name) {
            ln1 = new Norm(block.ln1);
            qkv = new Tensor(c * 3 * c);
            for (int h = 0; h < heads; h++) {
                Head head = block.sa.heads[h];
                String[] roles = {head.query, head.key, head.value};
                for (int r = 0; r < 3; r++) {
                    qkv.columns.put(roles[r], r * c + h * hs);
                }
            }
            tensors.add(qkv);
            projW = tensor(block.sa.proj.weight);
            projB = block.sa.proj.bias == null ? null : tensor(block.sa.proj.bias);
            ln2 = new Norm(block.ln2);
            w1 = tensor(block.ffwd.expand.weight);
            b1 = block.ffwd.expand.bias == null ? null : tensor(block.ffwd.expand.bias);
            w2 = tensor(block.ffwd.project.weight);
            b2 = block.ffwd.project.bias == null ? null : tensor(block.ffwd.project.bias);
            qkvOut = new float[n * 3 * c];
            att = new float[batch * heads * time * time];
            y = new float[n * c];
            hidden = new float[n * 4 * c];
            // The mask names GraphBuilder gives the same dropouts, so that a seed draws the same masks.
            attnMask = name + ".sa.attn.dropout_mask";
            projMask = name + ".sa.proj.dropout_mask";
            ffwdMask = name + ".ffwd.dropout_mask";
            if (dropout > 0) {
                maskShapes.put(attnMask, new long[]{batch, heads, time, time});
                maskShapes.put(projMask, new long[]{n, c});
                maskShapes.put(ffwdMask, new long[]{n, c});
            }
        }

        /** x = x + drop(proj(attention(ln1(x)))); x = x + drop(ffwd(ln2(x))) */
        void forward() {
            ln1.forward(x);
            Sgemm.gemm(false, false, n, 3 * c, c, 1f, ln1.out, qkv.w, 0f, qkvOut);
            Sgemm.put(qkvOut, qkvD);
            // Per sequence b and head h: wei = q k^T / sqrt(hs), [T, T]
            int ld = 3 * c;
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    int q = b * time * ld + h * hs;
                    Sgemm.gemm(false, true, time, time, hs, scale, qkvD, q, ld, qkvD, q + c, ld, 0f,
                            attD, (b * heads + h) * time * time, time);
                }
            }
            Sgemm.get(attD, att);
            causalSoftmax(att);
            float[] mask = masks.get(attnMask);
            putDropped(att, mask, attD);
            // out = wei v, written straight into the head's columns of y
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    int v = b * time * ld + 2 * c + h * hs;
                    Sgemm.gemm(false, false, time, hs, time, 1f, attD, (b * heads + h) * time * time, time,
                            qkvD, v, ld, 0f, yD, b * time * c + h * hs, c);
                }
            }
            Sgemm.get(yD, y);
            linear(y, projW, projB, tmp, n, c, c);
            addDropped(x, tmp, masks.get(projMask));

            ln2.forward(x);
            linear(ln2.out, w1, b1, hidden, n, c, 4 * c);
            for (int i = 0; i < hidden.length; i++) {
                hidden[i] = Math.max(0f, hidden[i]);
            }
            linear(hidden, w2, b2, tmp, n, 4 * c, c);
            addDropped(x, tmp, masks.get(ffwdMask));
        }

        /** dx holds the gradient of the block's output; leaves the gradient of its input there. */
        void backward() {
            // Feed-forward: x_out = x_mid + drop(relu(ln2(x_mid) W1 + b1) W2 + b2)
            float[] dOut = dropped(dx, masks.get(ffwdMask));
            linearBackward(hidden, w2, b2, dOut, dr, n, 4 * c, c);
            for (int i = 0; i < dr.length; i++) {
                if (hidden[i] <= 0f) {         // ReLU passes the gradient only where its output was positive
                    dr[i] = 0f;
                }
            }
            linearBackward(ln2.out, w1, b1, dr, dh, n, c, 4 * c);
            ln2.backward(dh, dx);

            // Attention: x_mid = x_in + drop(proj(heads(ln1(x_in))))
            dOut = dropped(dx, masks.get(projMask));
            linearBackward(y, projW, projB, dOut, dy, n, c, c);
            int ld = 3 * c;
            Sgemm.put(qkvOut, qkvD);
            Sgemm.put(dy, yD);
            // d wei = dy v^T (per sequence and head)
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    Sgemm.gemm(false, true, time, time, hs, 1f, yD, b * time * c + h * hs, c,
                            qkvD, b * time * ld + 2 * c + h * hs, ld, 0f, attD, (b * heads + h) * time * time, time);
                }
            }
            Sgemm.get(attD, datt);
            float[] mask = masks.get(attnMask);
            // dv = wei^T dy, with the weights as dropout left them
            putDropped(att, mask, attD);
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    Sgemm.gemm(true, false, time, hs, time, 1f, attD, (b * heads + h) * time * time, time,
                            yD, b * time * c + h * hs, c, 0f, dqkvD, b * time * ld + 2 * c + h * hs, ld);
                }
            }
            softmaxBackward(att, mask, datt);
            Sgemm.put(datt, attD);   // now d scores
            for (int b = 0; b < batch; b++) {
                for (int h = 0; h < heads; h++) {
                    int s = (b * heads + h) * time * time;
                    int q = b * time * ld + h * hs;
                    // scores = q k^T * scale: dq = d scores k * scale, dk = d scores^T q * scale
                    Sgemm.gemm(false, false, time, hs, time, scale, attD, s, time, qkvD, q + c, ld, 0f, dqkvD, q, ld);
                    Sgemm.gemm(true, false, time, hs, time, scale, attD, s, time, qkvD, q, ld, 0f, dqkvD, q + c, ld);
                }
            }
            Sgemm.get(dqkvD, dqkv);
            Sgemm.gemm(true, false, c, 3 * c, n, 1f, ln1.out, dqkv, 0f, qkv.g);
            Sgemm.gemm(false, true, n, c, 3 * c, 1f, dqkv, qkv.w, 0f, dh);
            ln1.backward(dh, dx);
        }

        /** Softmax of each row over the positions up to its own (the mask gives the later ones weight 0). */
        private void causalSoftmax(float[] a) {
            for (int r = 0; r < batch * heads * time; r++) {
                int o = r * time;
                int last = r % time;   // the query's position
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j <= last; j++) {
                    max = Math.max(max, a[o + j]);
                }
                float sum = 0f;
                for (int j = 0; j <= last; j++) {
                    float e = (float) Math.exp(a[o + j] - max);
                    a[o + j] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                for (int j = 0; j <= last; j++) {
                    a[o + j] *= inv;
                }
                Arrays.fill(a, o + last + 1, o + time, 0f);
            }
        }

        /** d wei (after dropout) -> d scores: wei * (d wei - sum_j d wei * wei), row by row. */
        private void softmaxBackward(float[] a, float[] mask, float[] d) {
            if (mask != null) {
                for (int i = 0; i < d.length; i++) {
                    d[i] *= mask[i];
                }
            }
            for (int r = 0; r < batch * heads * time; r++) {
                int o = r * time;
                float dot = 0f;
                for (int j = 0; j < time; j++) {
                    dot += d[o + j] * a[o + j];
                }
                for (int j = 0; j < time; j++) {
                    d[o + j] = a[o + j] * (d[o + j] - dot);
                }
            }
        }
    }

    /** LayerNorm, keeping the normalised input and 1/std for the backward pass. */
    private final class Norm {
        final Tensor w;
        final Tensor b;
        final float[] xhat = new float[n * c];
        final float[] rstd = new float[n];
        final float[] out = new float[n * c];

        Norm(LayerNorm ln) {
            w = tensor(ln.weight);
            b = tensor(ln.bias);
        }

        /** out = (in - mean) / sqrt(var + eps) * weight + bias, row by row (biased variance, as PyTorch) */
        void forward(float[] in) {
            for (int row = 0; row < n; row++) {
                int o = row * c;
                float mean = 0f;
                for (int j = 0; j < c; j++) {
                    mean += in[o + j];
                }
                mean /= c;
                float var = 0f;
                for (int j = 0; j < c; j++) {
                    float d = in[o + j] - mean;
                    xhat[o + j] = d;
                    var += d * d;
                }
                var /= c;
                float r = (float) (1 / Math.sqrt(var + LayerNorm.EPS));
                rstd[row] = r;
                for (int j = 0; j < c; j++) {
                    float xh = xhat[o + j] * r;
                    xhat[o + j] = xh;
                    out[o + j] = xh * w.w[j] + b.w[j];
                }
            }
        }

        /** Adds the gradient with respect to the input to {@code dIn}; adds to the weight's and bias's gradients. */
        void backward(float[] dOut, float[] dIn) {
            for (int row = 0; row < n; row++) {
                int o = row * c;
                // d in = rstd * (d xhat - mean(d xhat) - xhat * mean(d xhat * xhat)), d xhat = d out * weight
                float mean1 = 0f;
                float mean2 = 0f;
                for (int j = 0; j < c; j++) {
                    float g = dOut[o + j];
                    w.g[j] += g * xhat[o + j];
                    b.g[j] += g;
                    float dxh = g * w.w[j];
                    mean1 += dxh;
                    mean2 += dxh * xhat[o + j];
                }
                mean1 /= c;
                mean2 /= c;
                float r = rstd[row];
                for (int j = 0; j < c; j++) {
                    float dxh = dOut[o + j] * w.w[j];
                    dIn[o + j] += r * (dxh - mean1 - xhat[o + j] * mean2);
                }
            }
        }
    }

    /** out [rows, outs] = in [rows, ins] W [ins, outs] + bias */
    private static void linear(float[] in, Tensor w, Tensor bias, float[] out, int rows, int ins, int outs) {
        Sgemm.gemm(false, false, rows, outs, ins, 1f, in, w.w, 0f, out);
        if (bias != null) {
            for (int r = 0; r < rows; r++) {
                int o = r * outs;
                for (int j = 0; j < outs; j++) {
                    out[o + j] += bias.w[j];
                }
            }
        }
    }

    /** The backward pass of {@link #linear}: W's and the bias's gradients, and d in (overwritten). */
    private static void linearBackward(float[] in, Tensor w, Tensor bias, float[] dOut, float[] dIn, int rows,
                                       int ins, int outs) {
        Sgemm.gemm(true, false, ins, outs, rows, 1f, in, dOut, 1f, w.g);
        if (bias != null) {
            for (int r = 0; r < rows; r++) {
                int o = r * outs;
                for (int j = 0; j < outs; j++) {
                    bias.g[j] += dOut[o + j];
                }
            }
        }
        Sgemm.gemm(false, true, rows, ins, outs, 1f, dOut, w.w, 0f, dIn);
    }

    /** x += a * mask (inverted dropout; no mask: x += a). */
    private static void addDropped(float[] x, float[] a, float[] mask) {
        if (mask == null) {
            for (int i = 0; i < x.length; i++) {
                x[i] += a[i];
            }
        } else {
            for (int i = 0; i < x.length; i++) {
                x[i] += a[i] * mask[i];
            }
        }
    }

    /** The gradient through inverted dropout: d * mask, in tmp (or d itself without a mask). */
    private float[] dropped(float[] d, float[] mask) {
        if (mask == null) {
            return d;
        }
        for (int i = 0; i < d.length; i++) {
            tmp[i] = d[i] * mask[i];
        }
        return tmp;
    }

    /** Copies a (times the mask, if any) into a direct buffer. */
    private void putDropped(float[] a, float[] mask, FloatBuffer to) {
        if (mask == null) {
            Sgemm.put(a, to);
        } else {
            for (int i = 0; i < a.length; i++) {
                attDropped[i] = a[i] * mask[i];
            }
            Sgemm.put(attDropped, to);
        }
    }

    private void flatten(int[][] ids, int[] out) {
        if (ids.length != batch || ids[0].length != time) {
            throw new IllegalArgumentException("this model takes [" + batch + ", " + time + "] tokens, got ["
                    + ids.length + ", " + (ids.length == 0 ? 0 : ids[0].length) + "]");
        }
        for (int b = 0; b < batch; b++) {
            System.arraycopy(ids[b], 0, out, b * time, time);
        }
    }

    // ----------------------------------------------------------------------------------- parameters and AdamW

    /**
     * A parameter as this class stores it: its values, gradient and Adam moments, as flat float arrays. Most are one
     * model parameter each; a block's [C, 3C] attention matrix holds every head's query, key and value weight, each
     * in its own columns.
     */
    private static final class Tensor {
        final String name;                                   // the model parameter, or null for a qkv matrix
        final Map<String, Integer> columns = new LinkedHashMap<>();  // qkv: parameter -> first column
        final float[] w;
        final float[] g;
        final float[] m;
        final float[] v;

        Tensor(String name, int size) {
            this.name = name;
            w = new float[size];
            g = new float[size];
            m = new float[size];
            v = new float[size];
        }

        Tensor(int size) {
            this(null, size);
        }
    }

    private Tensor tensor(String name) {
        Tensor t = new Tensor(name, Math.toIntExact(model.parameters().get(name).length()));
        tensors.add(t);
        return t;
    }

    /**
     * Copies the model's parameters in, and the Adam moments when given (by parameter name; null keeps this class's).
     */
    public void pull(Function<String, INDArray> adamM, Function<String, INDArray> adamV) {
        Parameters p = model.parameters();
        for (Tensor t : tensors) {
            copyIn(t, t.w, p::get);
            if (adamM != null) {
                copyIn(t, t.m, adamM);
                copyIn(t, t.v, adamV);
            }
        }
    }

    /** Copies the parameters (and the Adam moments, when given) back into the model's arrays. */
    public void push(Function<String, INDArray> adamM, Function<String, INDArray> adamV) {
        Parameters p = model.parameters();
        for (Tensor t : tensors) {
            copyOut(t, t.w, p::get);
            if (adamM != null) {
                copyOut(t, t.m, adamM);
                copyOut(t, t.v, adamV);
            }
        }
    }

    private void copyIn(Tensor t, float[] to, Function<String, INDArray> source) {
        if (t.name != null) {
            float[] from = source.apply(t.name).dup('c').data().asFloat();
            System.arraycopy(from, 0, to, 0, to.length);
            return;
        }
        t.columns.forEach((name, col) -> {
            float[] from = source.apply(name).dup('c').data().asFloat();   // [C, hs]
            for (int r = 0; r < c; r++) {
                System.arraycopy(from, r * hs, to, r * 3 * c + col, hs);
            }
        });
    }

    private void copyOut(Tensor t, float[] from, Function<String, INDArray> target) {
        if (t.name != null) {
            INDArray a = target.apply(t.name);
            a.assign(Nd4j.createFromArray(from).reshape(a.shape()));
            return;
        }
        t.columns.forEach((name, col) -> {
            INDArray a = target.apply(name);
            a.assign(Nd4j.createFromArray(columnsOf(from, col)).reshape(a.shape()));
        });
    }

    /** A head's [C, hs] block of a [C, 3C] matrix. */
    private float[] columnsOf(float[] matrix, int col) {
        float[] part = new float[c * hs];
        for (int r = 0; r < c; r++) {
            System.arraycopy(matrix, r * 3 * c + col, part, r * hs, hs);
        }
        return part;
    }

    /** The gradients of the last {@link #lossAndGradients}, by model parameter name (copies, for tests and tools). */
    public Map<String, INDArray> gradients() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        Parameters p = model.parameters();
        for (Tensor t : tensors) {
            if (t.name != null) {
                out.put(t.name, Nd4j.createFromArray(t.g).reshape(p.get(t.name).shape()));
            } else {
                t.columns.forEach((name, col) -> out.put(name, Nd4j.createFromArray(columnsOf(t.g, col)).reshape(c, hs)));
            }
        }
        return out;
    }

    /** The global L2 norm of the last gradients (for clipping). */
    public double gradientNorm() {
        double sq = 0;
        for (Tensor t : tensors) {
            for (float g : t.g) {
                sq += (double) g * g;
            }
        }
        return Math.sqrt(sq);
    }

    /**
     * One AdamW step, as {@code torch.optim.AdamW} computes it, on every parameter:
     * <pre>
     *   g = gradScale * g;  m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
     *   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)  +  lr * weightDecay * p
     * </pre>
     *
     * @param step the step counted from 0 (t = step + 1)
     */
    public void adamW(double lr, double beta1, double beta2, double eps, double weightDecay, int step,
                      double gradScale) {
        double bc1 = 1 - Math.pow(beta1, step + 1);
        double bc2 = Math.sqrt(1 - Math.pow(beta2, step + 1));
        float b1 = (float) beta1;
        float b2 = (float) beta2;
        float stepSize = (float) (lr / bc1);
        float invBc2 = (float) (1 / bc2);
        float e = (float) eps;
        float decay = (float) (lr * weightDecay);
        float gs = (float) gradScale;
        for (Tensor t : tensors) {
            float[] w = t.w;
            float[] g = t.g;
            float[] m = t.m;
            float[] v = t.v;
            for (int i = 0; i < w.length; i++) {
                float gi = g[i] * gs;
                m[i] = b1 * m[i] + (1 - b1) * gi;
                v[i] = b2 * v[i] + (1 - b2) * gi * gi;
                float update = stepSize * m[i] / ((float) Math.sqrt(v[i]) * invBc2 + e);
                w[i] -= update + decay * w[i];
            }
        }
    }

    /** The masks' names and shapes (those of {@link GptGraph}'s dropout placeholders). */
    Map<String, long[]> maskShapes() {
        return Map.copyOf(maskShapes);
    }
}
