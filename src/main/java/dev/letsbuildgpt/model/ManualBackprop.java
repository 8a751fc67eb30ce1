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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * The full GPT's forward and backward pass written out by hand, with AdamW: what training runs.
 *
 * <p>{@link Gpt#graph} builds the same model as a SameDiff graph and lets SameDiff derive the backward pass. That is
 * correct but slow at these sizes: SameDiff runs a step as hundreds of ops, each with bookkeeping and a freshly
 * allocated output, and ND4J's element-wise kernels took 0.5 to 17 ns per value here, so the ops around the matmuls
 * cost more than the matmuls (docs/BENCHMARKS.md). This class does the same arithmetic, op for op, with the
 * gradients derived by hand, as in the lecture series' "becoming a backprop ninja": matmuls go to OpenBLAS
 * ({@link Sgemm}), everything else is a plain Java loop over float arrays (which the JIT vectorises), and every
 * array is allocated once. Its loss and gradients equal SameDiff's for the same dropout masks (tested).
 *
 * <p>Layouts: activations are [N, C] row-major, N = B*T rows, one per position. The key, query and value weights of
 * all heads sit side by side in one [C, 3C] matrix per block (queries, then keys, then values, head by head), so one
 * matmul computes every head's q, k and v; a head of a sequence is then a [T, hs] block of that [N, 3C] matrix,
 * which BLAS reads in place with a row stride of 3C.
 *
 * <p>The batch is split between workers, one per core: each runs the forward and backward pass of its sequences on
 * its own thread (with single-threaded BLAS), and their gradients are averaged, weighted by their share of the rows.
 * This uses both cores of a small machine for all of the work, not only for the matmuls.
 *
 * <p>The model's parameter arrays (and SameDiff's optimizer state) stay the truth between calls: {@link #pull} copies
 * them in before training steps, {@link #push} copies the trained values back, so checkpoints, sampling and the
 * SameDiff graphs see them.
 */
public final class ManualBackprop {
    private final Gpt model;
    private final int batch;
    private final int time;
    private final int c;
    private final int heads;
    private final int hs;
    private final int vocab;
    private final double dropout;
    private final float scale;
    private final Map<String, long[]> maskShapes = new LinkedHashMap<>();
    private final Worker[] workers;
    private static ExecutorService pool;   // the workers' threads, shared by every instance (daemons, never shut down)

    /**
     * @param batch sequences per step; every sequence is block_size long. One worker per core (at most one per
     *              sequence).
     */
    public ManualBackprop(Gpt model, int batch) {
        this(model, batch, Runtime.getRuntime().availableProcessors());
    }

    ManualBackprop(Gpt model, int batch, int threads) {
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
        this.c = cfg.nEmbd();
        this.heads = cfg.nHead();
        this.hs = cfg.headSize();
        this.vocab = cfg.vocabSize();
        this.dropout = cfg.dropout();
        this.scale = (float) Math.pow(hs, -0.5);
        if (dropout > 0) {
            // The names and shapes GraphBuilder gives the same dropouts (tests compare the two with the same masks).
            for (int i = 0; i < cfg.nLayer(); i++) {
                maskShapes.put(attnMask(i), new long[]{batch, heads, time, time});
                maskShapes.put(projMask(i), new long[]{(long) batch * time, c});
                maskShapes.put(ffwdMask(i), new long[]{(long) batch * time, c});
            }
        }
        int k = Math.max(1, Math.min(threads, batch));
        workers = new Worker[k];
        for (int w = 0, first = 0; w < k; w++) {
            int size = batch / k + (w < batch % k ? 1 : 0);
            workers[w] = new Worker(first, size, w == 0 ? null : workers[0]);
            first += size;
        }
        pull(null, null);
    }

    /** The shared pool, with at least {@code threads} threads. */
    private static synchronized ExecutorService pool(int threads) {
        if (pool == null || ((java.util.concurrent.ThreadPoolExecutor) pool).getMaximumPoolSize() < threads) {
            ExecutorService old = pool;
            pool = Executors.newFixedThreadPool(threads, r -> {
                Thread t = new Thread(r, "backprop-worker");
                t.setDaemon(true);
                return t;
            });
            if (old != null) {
                old.shutdown();
            }
        }
        return pool;
    }

    /** The full GPT (pre-norm blocks, ln_f) is what this class implements; the lecture's earlier stages use SameDiff. */
    public static boolean supports(GptConfig cfg) {
        return cfg.stage() == Stage.GPT;
    }

    /** The mean cross-entropy of a batch, without dropout (estimate_loss), with the weights last pulled. */
    public double loss(int[][] idx, int[][] targets) {
        feed(idx, targets);
        for (Worker w : workers) {
            w.masks = Map.of();
        }
        return run(false);
    }

    /**
     * Forward and backward pass of one training batch, with the weights last pulled. Returns the loss; the gradients
     * are kept for {@link #gradients()} and {@link #adamW}.
     *
     * @param dropoutSeed this step's dropout masks: a seed means the same masks, however the batch is split
     */
    public double lossAndGradients(int[][] idx, int[][] targets, long dropoutSeed) {
        feed(idx, targets);
        for (Worker w : workers) {
            w.drawMasks(dropoutSeed);
        }
        return run(true);
    }

    /** Hands each worker its rows of the batch. */
    private void feed(int[][] idx, int[][] targets) {
        requireShape(idx);
        requireShape(targets);
        for (Worker w : workers) {
            for (int b = 0; b < w.batch; b++) {
                System.arraycopy(idx[w.first + b], 0, w.idx, b * time, time);
                System.arraycopy(targets[w.first + b], 0, w.targets, b * time, time);
            }
        }
    }

    /** The last step's dropout masks, full batch, in the shapes of {@link GptGraph}'s placeholders (for tests). */
    Map<String, INDArray> lastMasks() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        maskShapes.forEach((name, shape) -> {
            float[] all = new float[0];
            for (Worker w : workers) {
                byte[] part = w.masks.get(name);
                float[] joined = Arrays.copyOf(all, all.length + part.length);
                for (int i = 0; i < part.length; i++) {
                    joined[all.length + i] = part[i] * w.keepScale;
                }
                all = joined;
            }
            out.put(name, Nd4j.createFromArray(all).reshape(shape));
        });
        return out;
    }

    /** Runs every worker (the first on this thread); combines their losses and, if asked, gradients by row share. */
    private double run(boolean backward) {
        List<Future<Double>> running = new ArrayList<>();
        for (int i = 1; i < workers.length; i++) {
            Worker w = workers[i];
            running.add(pool(workers.length - 1).submit(() -> w.pass(backward)));
        }
        double loss = workers[0].pass(backward) * workers[0].batch;
        try {
            for (int i = 1; i < workers.length; i++) {
                loss += running.get(i - 1).get() * workers[i].batch;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
        if (backward && workers.length > 1) {
            // Each worker's gradient is the mean over its rows; the batch's is their mean weighted by rows.
            List<Tensor> total = workers[0].tensors;
            for (int t = 0; t < total.size(); t++) {
                float[] g = total.get(t).g;
                float w0 = (float) workers[0].batch / batch;
                for (int i = 0; i < g.length; i++) {
                    g[i] *= w0;
                }
                for (int k = 1; k < workers.length; k++) {
                    float[] gk = workers[k].tensors.get(t).g;
                    float wk = (float) workers[k].batch / batch;
                    for (int i = 0; i < g.length; i++) {
                        g[i] += wk * gk[i];
                    }
                }
            }
        }
        return loss / batch;
    }

    private void requireShape(int[][] ids) {
        if (ids.length != batch || ids[0].length != time) {
            throw new IllegalArgumentException("this model takes [" + batch + ", " + time + "] tokens, got ["
                    + ids.length + ", " + (ids.length == 0 ? 0 : ids[0].length) + "]");
        }
    }

    private static String attnMask(int layer) {
        return "blocks." + layer + ".sa.attn.dropout_mask";
    }

    private static String projMask(int layer) {
        return "blocks." + layer + ".sa.proj.dropout_mask";
    }

    private static String ffwdMask(int layer) {
        return "blocks." + layer + ".ffwd.dropout_mask";
    }

    /**
     * The forward and backward pass over some of the batch's sequences, with its own activations and gradients; the
     * weights are shared with the first worker, which also holds the Adam moments and the combined gradients.
     */
    private final class Worker {
        final int first;                 // its first sequence in the batch
        final int batch;                 // its number of sequences
        final int n;                     // its rows: batch * T
        final Worker primary;            // null for the first worker
        final List<Tensor> tensors = new ArrayList<>();
        final Tensor tokenTable;
        final Tensor positionTable;
        final Norm lnF;
        final Tensor lmW;
        final Tensor lmB;
        final Layer[] layers;

        // Activations and scratch space
        final int[] idx;                 // [N]
        final int[] targets;             // [N]
        final float[] x;                 // [N, C] the residual stream, updated in place
        final float[] probs;             // [N, V] softmax of the logits, then the logits' gradient
        final float[] tmp;               // [N, C]
        final float[] dx;                // [N, C] gradient of the residual stream
        final float[] dh;                // [N, C]
        final float[] dy;                // [N, C]
        final float[] dqkv;              // [N, 3C]
        final float[] datt;              // [B*H, T, T]
        final float[] attDropped;        // [B*H, T, T] attention weights after dropout (with dropout only)
        final float[] dr;                // [N, 4C]
        final FloatBuffer qkvD;          // direct copies for the per-head products
        final FloatBuffer attD;
        final FloatBuffer yD;
        final FloatBuffer dqkvD;
        Map<String, byte[]> masks = Map.of();      // this pass's dropout masks (1 keep, 0 drop): none, or maskBuffers
        final Map<String, byte[]> maskBuffers = new LinkedHashMap<>();
        final float keepScale = (float) (1 / (1 - dropout));   // inverted dropout scales what it keeps by 1/(1-p)

        Worker(int first, int batch, Worker primary) {
            this.first = first;
            this.batch = batch;
            this.n = batch * time;
            this.primary = primary;
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
            layers = new Layer[model.blocks.size()];
            for (int i = 0; i < layers.length; i++) {
                layers[i] = new Layer(model.blocks.get(i), i);
            }
            lnF = new Norm(model.lnF);
            lmW = tensor(model.lmHead.weight);
            lmB = model.lmHead.bias == null ? null : tensor(model.lmHead.bias);
        }

        /** A parameter: the first worker's weights (and moments), or a new one; always its own gradient. */
        private Tensor tensor(String name) {
            return add(new Tensor(name, Math.toIntExact(model.parameters().get(name).length())));
        }

        private Tensor add(Tensor t) {
            if (primary != null) {
                t.shareWeights(primary.tensors.get(tensors.size()));
            }
            tensors.add(t);
            return t;
        }

        /**
         * Inverted dropout masks (0 with probability p, else 1/(1-p)) for this worker's sequences. Each sequence's
         * part of each mask comes from its own stream, seeded by the step's seed, the mask and the sequence's place
         * in the batch, so the masks do not depend on how many workers share the batch.
         */
        void drawMasks(long seed) {
            if (dropout == 0) {
                masks = Map.of();
                return;
            }
            if (maskBuffers.isEmpty()) {   // allocated on the first training step, reused after
                maskShapes.forEach((name, shape) -> {
                    long size = 1;
                    for (long d : shape) {
                        size *= d;
                    }
                    maskBuffers.put(name, new byte[Math.toIntExact(size / ManualBackprop.this.batch * batch)]);
                });
            }
            masks = maskBuffers;
            int which = 0;
            for (Map.Entry<String, byte[]> e : masks.entrySet()) {
                byte[] m = e.getValue();
                int perSequence = m.length / batch;
                for (int s = 0; s < batch; s++) {
                    long stream = (seed * 1_000_003L + which) * 1_000_003L + first + s;
                    java.util.SplittableRandom r = new java.util.SplittableRandom(stream);
                    for (int i = s * perSequence; i < (s + 1) * perSequence; i++) {
                        m[i] = (byte) (r.nextDouble() >= dropout ? 1 : 0);
                    }
                }
                which++;
            }
        }

        double pass(boolean backward) {
            double loss = forward();
            if (backward) {
                backward();
            }
            return loss;
        }

        // ---------------------------------------------------------------------------------------------------- forward

        /** The mean loss over this worker's rows (idx and targets filled in). */
        private double forward() {
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

            Layer(Block block, int index) {
                ln1 = new Norm(block.ln1);
                qkv = add(new Tensor(block.sa, c * 3 * c));
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
                attnMask = attnMask(index);
                projMask = projMask(index);
                ffwdMask = ffwdMask(index);
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
                byte[] mask = masks.get(attnMask);
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
                byte[] mask = masks.get(attnMask);
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
            private void softmaxBackward(float[] a, byte[] mask, float[] d) {
                if (mask != null) {
                    for (int i = 0; i < d.length; i++) {
                        d[i] *= mask[i] * keepScale;
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
        private void addDropped(float[] x, float[] a, byte[] mask) {
            if (mask == null) {
                for (int i = 0; i < x.length; i++) {
                    x[i] += a[i];
                }
            } else {
                for (int i = 0; i < x.length; i++) {
                    x[i] += a[i] * (mask[i] * keepScale);
                }
            }
        }

        /** The gradient through inverted dropout: d * mask, in tmp (or d itself without a mask). */
        private float[] dropped(float[] d, byte[] mask) {
            if (mask == null) {
                return d;
            }
            for (int i = 0; i < d.length; i++) {
                tmp[i] = d[i] * (mask[i] * keepScale);
            }
            return tmp;
        }

        /** Copies a (times the mask, if any) into a direct buffer. */
        private void putDropped(float[] a, byte[] mask, FloatBuffer to) {
            if (mask == null) {
                Sgemm.put(a, to);
            } else {
                for (int i = 0; i < a.length; i++) {
                    attDropped[i] = a[i] * (mask[i] * keepScale);
                }
                Sgemm.put(attDropped, to);
            }
        }
    }

    // ----------------------------------------------------------------------------------- parameters and AdamW

    /**
     * A parameter as this class stores it: its values, gradient and Adam moments, as flat float arrays. Most are one
     * model parameter each; a block's [C, 3C] attention matrix holds every head's query, key and value weight
     * ({@link MultiHeadAttention#fusedQkv}).
     */
    private static final class Tensor {
        final String name;                   // the model parameter, or null for a block's qkv matrix
        final MultiHeadAttention attention;  // whose heads a qkv matrix holds, or null
        float[] w;
        final float[] g;
        float[] m;
        float[] v;

        Tensor(String name, MultiHeadAttention attention, int size) {
            this.name = name;
            this.attention = attention;
            w = new float[size];
            g = new float[size];
            m = new float[size];
            v = new float[size];
        }

        Tensor(String name, int size) {
            this(name, null, size);
        }

        Tensor(MultiHeadAttention attention, int size) {
            this(null, attention, size);
        }

        /** Another worker's view of the same parameter: its weights, not its moments (only the first has them). */
        void shareWeights(Tensor first) {
            w = first.w;
            m = null;
            v = null;
        }
    }

    private List<Tensor> tensors() {
        return workers[0].tensors;
    }

    /**
     * Copies the model's parameters in, and the Adam moments when given (by parameter name; null keeps this class's).
     */
    public void pull(Function<String, INDArray> adamM, Function<String, INDArray> adamV) {
        Parameters p = model.parameters();
        for (Tensor t : tensors()) {
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
        for (Tensor t : tensors()) {
            copyOut(t, t.w, p::get);
            if (adamM != null) {
                copyOut(t, t.m, adamM);
                copyOut(t, t.v, adamV);
            }
        }
    }

    private static void copyIn(Tensor t, float[] to, Function<String, INDArray> source) {
        float[] from = t.name != null ? Parameters.floats(source.apply(t.name)) : t.attention.fusedQkv(source);
        System.arraycopy(from, 0, to, 0, to.length);
    }

    private static void copyOut(Tensor t, float[] from, Function<String, INDArray> target) {
        eachParameter(t, from, (name, values) -> {
            INDArray a = target.apply(name);
            a.assign(Nd4j.createFromArray(values).reshape(a.shape()));
        });
    }

    /** The model parameters a tensor holds, each with its values taken from {@code values} (laid out as t's). */
    private static void eachParameter(Tensor t, float[] values, java.util.function.BiConsumer<String, float[]> each) {
        if (t.name != null) {
            each.accept(t.name, values);
        } else {
            t.attention.splitQkv(values, each);
        }
    }

    /** The gradients of the last {@link #lossAndGradients}, by model parameter name (copies, for tests and tools). */
    public Map<String, INDArray> gradients() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        Parameters p = model.parameters();
        for (Tensor t : tensors()) {
            eachParameter(t, t.g, (name, g) -> out.put(name, Nd4j.createFromArray(g).reshape(p.get(name).shape())));
        }
        return out;
    }

    /** The global L2 norm of the last gradients (for clipping). */
    public double gradientNorm() {
        double sq = 0;
        for (Tensor t : tensors()) {
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
        for (Tensor t : tensors()) {
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

    /** How many workers share a batch. */
    int workers() {
        return workers.length;
    }
}
