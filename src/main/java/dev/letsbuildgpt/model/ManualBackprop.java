package dev.letsbuildgpt.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.Step;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The full GPT's forward and backward pass written out by hand, over arrays allocated once: what training runs.
 *
 * <p>{@link Gpt#graph} builds the same model as a SameDiff graph and lets SameDiff derive the backward pass. That is
 * correct but slow for models this size: SameDiff spends tens of microseconds of bookkeeping on each of the
 * thousand-odd ops of a step and allocates fresh arrays for their outputs, and here that costs more than the
 * arithmetic (docs/BENCHMARKS.md). This class does the arithmetic of the same graph, op for op, with the gradients
 * derived by hand, as in the lecture's "becoming a backprop ninja": every matmul is one BLAS call into a
 * preallocated array, every other step an in-place ND4J op. Its gradients equal SameDiff's (tested in double
 * precision), and it draws the same dropout masks for the same seed.
 *
 * <p>Layouts: activations are [N, C] with N = B*T rows, one per position; attention works on [B*H, T, hs], each
 * (sequence, head) pair a batch of the batched matmuls. The key, query and value weights of all heads are gathered
 * side by side into one [C, 3C] matrix each step, so one matmul computes every head's q, k and v.
 */
public final class ManualBackprop {
    private final Gpt model;
    private final Parameters params;
    private final DataType dt;
    private final int batch;
    private final int time;
    private final int n;
    private final int c;
    private final int heads;
    private final int hs;
    private final int vocab;
    private final double dropout;
    private final double scale;
    private final Map<String, long[]> maskShapes = new LinkedHashMap<>();
    private final Map<String, INDArray> grads = new LinkedHashMap<>();
    private final Layer[] layers;

    // Activations and scratch space, [N, ...] unless noted.
    private final INDArray oneHotIdx;       // [N, V]
    private final INDArray oneHotTargets;   // [N, V]
    private final INDArray x;               // the residual stream, updated in place
    private final Norm lnF;
    private final INDArray probs;           // [N, V]: softmax of the logits, then their gradient
    private final INDArray causalMask;      // [T*T]
    private final INDArray tmp;             // [N, C]
    private final INDArray dx;              // [N, C] gradient of the residual stream
    private final INDArray dh;              // [N, C]
    private final INDArray qkvFlat;         // [N, 3C]
    private final INDArray dqkvFlat;        // [N, 3C]
    private final INDArray dqkvHeads;       // [3, B*H, T, hs]
    private final INDArray yHeads;          // [B*H, T, hs]
    private final INDArray dWqkv;           // [C, 3C]
    private final INDArray datt;            // [B*H, T, T]
    private final INDArray attTmp;          // [B*H, T, T]
    private final INDArray rowSums;         // [B*H*T]
    private final INDArray dr;              // [N, 4C]
    private final INDArray reluMask;        // [N, 4C]
    private final INDArray rowA;            // [N]
    private final INDArray rowB;            // [N]
    private Map<String, INDArray> masks = Map.of();

    /** @param batch sequences per step; every sequence is block_size long */
    public ManualBackprop(Gpt model, int batch) {
        GptConfig cfg = model.config();
        if (!supports(cfg)) {
            throw new IllegalArgumentException("hand-written backprop covers the full GPT stage, not " + cfg.stage());
        }
        this.model = model;
        this.params = model.parameters();
        this.dt = params.dataType();
        this.batch = batch;
        this.time = cfg.blockSize();
        this.n = batch * time;
        this.c = cfg.nEmbd();
        this.heads = cfg.nHead();
        this.hs = cfg.headSize();
        this.vocab = cfg.vocabSize();
        this.dropout = cfg.dropout();
        this.scale = Math.pow(hs, -0.5);
        int f = 4 * c;
        int bh = batch * heads;
        for (String name : params.names()) {
            grads.put(name, Nd4j.zeros(dt, params.get(name).shape()));
        }
        oneHotIdx = zeros(n, vocab);
        oneHotTargets = zeros(n, vocab);
        x = zeros(n, c);
        lnF = new Norm(model.lnF);
        probs = zeros(n, vocab);
        causalMask = CausalSelfAttention.causalMask(time, dt).reshape((long) time * time);
        tmp = zeros(n, c);
        dx = zeros(n, c);
        dh = zeros(n, c);
        qkvFlat = zeros(n, 3 * c);
        dqkvFlat = zeros(n, 3 * c);
        dqkvHeads = zeros(3, bh, time, hs);
        yHeads = zeros(bh, time, hs);
        dWqkv = zeros(c, 3 * c);
        datt = zeros(bh, time, time);
        attTmp = zeros(bh, time, time);
        rowSums = zeros((long) bh * time);
        dr = zeros(n, f);
        reluMask = zeros(n, f);
        rowA = zeros(n);
        rowB = zeros(n);
        layers = new Layer[cfg.nLayer()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = new Layer(model.blocks.get(i), "blocks." + i);
        }
    }

    /** The full GPT (pre-norm blocks, ln_f) is what this class implements; the lecture's earlier stages use SameDiff. */
    public static boolean supports(GptConfig cfg) {
        return cfg.stage() == Stage.GPT;
    }

    public int batchSize() {
        return batch;
    }

    /** The mean cross-entropy of a batch, without dropout (estimate_loss). */
    public double loss(int[][] idx, int[][] targets) {
        masks = Map.of();
        return forward(idx, targets);
    }

    /**
     * Forward and backward pass of one training batch. Returns the loss; the gradients are in {@link #gradients()}
     * (overwritten by the next call).
     *
     * @param dropoutSeed this step's dropout masks, the same masks as {@link GptGraph} draws for the seed
     */
    public double lossAndGradients(int[][] idx, int[][] targets, long dropoutSeed) {
        masks = GptGraph.drawDropoutMasks(maskShapes, dropout, dt, dropoutSeed);
        double loss = forward(idx, targets);
        backward();
        return loss;
    }

    /** Every parameter's gradient, by name, from the last {@link #lossAndGradients}. */
    public Map<String, INDArray> gradients() {
        return grads;
    }

    private double forward(int[][] idx, int[][] targets) {
        oneHot(idx, oneHotIdx);
        oneHot(targets, oneHotTargets);
        // x = token_embedding_table[idx] + position_embedding_table[0..T-1]; a row lookup as one-hot x table
        Nd4j.gemm(oneHotIdx, p(model.tokenEmbedding.weight), x, false, false, 1.0, 0.0);
        x.reshape(batch, (long) time * c).addiRowVector(p(model.positionEmbedding.weight).reshape((long) time * c));
        for (Layer l : layers) {
            l.forward();
        }
        lnF.forward(x);
        Nd4j.gemm(lnF.out, p(model.lmHead.weight), probs, false, false, 1.0, 0.0);   // logits
        addBias(probs, model.lmHead.bias);
        Nd4j.exec(new SoftMax(probs, probs, -1));
        double loss = 0;
        for (int row = 0; row < n; row++) {
            loss -= Math.log(probs.getDouble(row, targets[row / time][row % time]));
        }
        return loss / n;
    }

    private void backward() {
        // d loss / d logits = (softmax - one_hot(targets)) / N
        probs.subi(oneHotTargets).muli(1.0 / n);
        linearBackward(model.lmHead, lnF.out, probs, dh);
        dx.assign(0);
        lnF.backward(dh, dx);
        for (int i = layers.length - 1; i >= 0; i--) {
            layers[i].backward();
        }
        // Embeddings: the position rows get the gradient summed over the batch; the token rows, one-hot^T x dx.
        dx.reshape(batch, (long) time * c).sum(grads.get(model.positionEmbedding.weight).reshape((long) time * c), 0);
        Nd4j.gemm(oneHotIdx, dx, grads.get(model.tokenEmbedding.weight), true, false, 1.0, 0.0);
    }

    /** One transformer block: its saved activations and the views that gather its heads' weights. */
    private final class Layer {
        final Block block;
        final Norm ln1;
        final Norm ln2;
        final INDArray wqkv;                // [C, 3C]: query heads, key heads, value heads
        final List<INDArray[]> headWeights = new ArrayList<>();  // {param, its columns in wqkv, its gradient's}
        final INDArray qkvHeads;            // [3, B*H, T, hs]
        final INDArray q;
        final INDArray k;
        final INDArray v;
        final INDArray att;                 // [B*H, T, T] softmax
        final INDArray attDropped;          // att with dropout (att itself without; a training step's backward uses it)
        final INDArray y;                   // [N, C] heads concatenated
        final INDArray hidden;              // [N, 4C] after ReLU
        final String attnMask;
        final String projMask;
        final String ffwdMask;

        Layer(Block block, String name) {
            this.block = block;
            ln1 = new Norm(block.ln1);
            ln2 = new Norm(block.ln2);
            wqkv = zeros(c, 3 * c);
            for (int h = 0; h < heads; h++) {
                Head head = block.sa.heads[h];
                String[] roles = {head.query, head.key, head.value};
                for (int r = 0; r < 3; r++) {
                    long col = (long) r * c + (long) h * hs;
                    headWeights.add(new INDArray[]{p(roles[r]), columns(wqkv, col, hs), columns(dWqkv, col, hs),
                            grads.get(roles[r])});
                }
            }
            int bh = batch * heads;
            qkvHeads = zeros(3, bh, time, hs);
            q = qkvHeads.get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
            k = qkvHeads.get(NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
            v = qkvHeads.get(NDArrayIndex.point(2), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
            att = zeros(bh, time, time);
            attDropped = dropout > 0 ? zeros(bh, time, time) : att;
            y = zeros(n, c);
            hidden = zeros(n, 4 * c);
            attnMask = name + ".sa.attn.dropout_mask";
            projMask = name + ".sa.proj.dropout_mask";
            ffwdMask = name + ".ffwd.dropout_mask";
            if (dropout > 0) {
                maskShapes.put(attnMask, new long[]{batch, heads, time, time});
                maskShapes.put(projMask, new long[]{n, c});
                maskShapes.put(ffwdMask, new long[]{n, c});
            }
        }

        /** x = x + proj(attention(ln1(x))); x = x + ffwd(ln2(x)) */
        void forward() {
            ln1.forward(x);
            for (INDArray[] w : headWeights) {
                w[1].assign(w[0]);
            }
            Nd4j.gemm(ln1.out, wqkv, qkvFlat, false, false, 1.0, 0.0);
            // [N, 3C] = [B, T, 3, H, hs] -> [3, B, H, T, hs]: each (sequence, head) a [T, hs] matrix
            qkvHeads.reshape(3, batch, heads, time, hs).assign(qkvFlat.reshape(batch, time, 3, heads, hs)
                    .permute(2, 0, 3, 1, 4));
            // wei = softmax(mask(q k^T / sqrt(hs)))
            Nd4j.matmul(q, k, attTmp, false, true, false);
            attTmp.muli(scale);
            attTmp.reshape((long) batch * heads, (long) time * time).addiRowVector(causalMask);
            Nd4j.exec(new SoftMax(attTmp, att, -1));
            INDArray mask = masks.get(attnMask);   // none when estimating the loss
            INDArray wei = mask == null ? att : attDropped.assign(att).muli(mask.reshape(att.shape()));
            Nd4j.matmul(wei, v, yHeads, false, false, false);
            // [B, H, T, hs] -> [B, T, H, hs] = [N, C]: the heads side by side
            y.reshape(batch, time, heads, hs).assign(yHeads.reshape(batch, heads, time, hs).permute(0, 2, 1, 3));
            Nd4j.gemm(y, p(block.sa.proj.weight), tmp, false, false, 1.0, 0.0);
            addBias(tmp, block.sa.proj.bias);
            x.addi(dropped(tmp, projMask));

            ln2.forward(x);
            Nd4j.gemm(ln2.out, p(block.ffwd.expand.weight), hidden, false, false, 1.0, 0.0);
            addBias(hidden, block.ffwd.expand.bias);
            Transforms.relu(hidden, false);
            Nd4j.gemm(hidden, p(block.ffwd.project.weight), tmp, false, false, 1.0, 0.0);
            addBias(tmp, block.ffwd.project.bias);
            x.addi(dropped(tmp, ffwdMask));
        }

        /** Takes dx (the gradient of the block's output) to the gradient of its input, in place. */
        void backward() {
            // Feed-forward: x_out = x_mid + drop(relu(ln2(x_mid) W1 + b1) W2 + b2)
            INDArray dOut = dropped(tmp.assign(dx), ffwdMask);
            linearBackward(block.ffwd.project, hidden, dOut, dr);
            Nd4j.exec(new Step(hidden, reluMask, 0.0));    // ReLU passes the gradient where its output was positive
            dr.muli(reluMask);
            linearBackward(block.ffwd.expand, ln2.out, dr, dh);
            ln2.backward(dh, dx);

            // Attention: x_mid = x_in + drop(proj(heads(ln1(x_in))))
            dOut = dropped(tmp.assign(dx), projMask);
            linearBackward(block.sa.proj, y, dOut, dh);
            yHeads.reshape(batch, heads, time, hs).assign(dh.reshape(batch, time, heads, hs).permute(0, 2, 1, 3));
            INDArray dq = slice(dqkvHeads, 0);
            INDArray dk = slice(dqkvHeads, 1);
            INDArray dv = slice(dqkvHeads, 2);
            Nd4j.matmul(yHeads, v, datt, false, true, false);            // d wei = dy v^T
            Nd4j.matmul(attDropped, yHeads, dv, true, false, false);     // dv = wei^T dy
            INDArray mask = masks.get(attnMask);
            if (mask != null) {
                datt.muli(mask.reshape(att.shape()));
            }
            // softmax backward: d scores = wei * (d wei - sum_j(d wei * wei)), then the 1/sqrt(hs) scale
            attTmp.assign(datt).muli(att);
            attTmp.reshape((long) batch * heads * time, time).sum(rowSums, 1);
            datt.reshape((long) batch * heads * time, time).subiColumnVector(rowSums.reshape(rowSums.length(), 1));
            datt.muli(att).muli(scale);
            Nd4j.matmul(datt, k, dq, false, false, false);               // dq = d scores k
            Nd4j.matmul(datt, q, dk, true, false, false);                // dk = d scores^T q
            dqkvFlat.reshape(batch, time, 3, heads, hs).assign(dqkvHeads.reshape(3, batch, heads, time, hs)
                    .permute(1, 3, 0, 2, 4));
            Nd4j.gemm(ln1.out, dqkvFlat, dWqkv, true, false, 1.0, 0.0);
            for (INDArray[] w : headWeights) {
                w[3].assign(w[2]);
            }
            Nd4j.gemm(dqkvFlat, wqkv, dh, false, true, 1.0, 0.0);
            ln1.backward(dh, dx);
        }
    }

    /** LayerNorm with its saved normalised input and 1/std, for the backward pass. */
    private final class Norm {
        final LayerNorm ln;
        final INDArray xhat = zeros(n, c);
        final INDArray rstd = zeros(n);
        final INDArray out = zeros(n, c);

        Norm(LayerNorm ln) {
            this.ln = ln;
        }

        /** out = (in - mean) / sqrt(var + eps) * gain + bias, row by row */
        void forward(INDArray in) {
            in.mean(rowA, 1);
            xhat.assign(in).subiColumnVector(col(rowA));
            tmp.assign(xhat).muli(xhat).mean(rowB, 1);
            Transforms.pow(rstd.assign(rowB).addi(LayerNorm.EPS), -0.5, false);
            xhat.muliColumnVector(col(rstd));
            out.assign(xhat).muliRowVector(p(ln.weight)).addiRowVector(p(ln.bias));
        }

        /** Adds the gradient with respect to the input to {@code dIn}; fills the gain's and bias's gradients. */
        void backward(INDArray dOut, INDArray dIn) {
            tmp.assign(dOut).muli(xhat).sum(grads.get(ln.weight), 0);
            dOut.sum(grads.get(ln.bias), 0);
            // d in = rstd * (d xhat - mean(d xhat) - xhat * mean(d xhat * xhat)), with d xhat = d out * gain
            INDArray dxhat = dOut.muliRowVector(p(ln.weight));
            dxhat.mean(rowA, 1);
            tmp.assign(dxhat).muli(xhat).mean(rowB, 1);
            tmp.assign(xhat).muliColumnVector(col(rowB));
            dxhat.subi(tmp).subiColumnVector(col(rowA)).muliColumnVector(col(rstd));
            dIn.addi(dxhat);
        }
    }

    /** y = x W + b backward: fills W's and b's gradients and writes d x into {@code dIn}. */
    private void linearBackward(Linear l, INDArray in, INDArray dOut, INDArray dIn) {
        Nd4j.gemm(in, dOut, grads.get(l.weight), true, false, 1.0, 0.0);
        if (l.bias != null) {
            dOut.sum(grads.get(l.bias), 0);
        }
        Nd4j.gemm(dOut, p(l.weight), dIn, false, true, 1.0, 0.0);
    }

    private void addBias(INDArray a, String bias) {
        if (bias != null) {
            a.addiRowVector(p(bias));
        }
    }

    /** Inverted dropout in place with this step's mask (nothing without dropout). */
    private INDArray dropped(INDArray a, String mask) {
        INDArray m = masks.get(mask);
        return m == null ? a : a.muli(m);
    }

    private void oneHot(int[][] ids, INDArray out) {
        if (ids.length != batch || ids[0].length != time) {
            throw new IllegalArgumentException("this model takes [" + batch + ", " + time + "] tokens, got ["
                    + ids.length + ", " + ids[0].length + "]");
        }
        out.assign(0);
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < time; t++) {
                out.putScalar((long) b * time + t, ids[b][t], 1.0);
            }
        }
    }

    private INDArray p(String name) {
        return params.get(name);
    }

    private INDArray zeros(long... shape) {
        return Nd4j.zeros(dt, shape);
    }

    private static INDArray col(INDArray row) {
        return row.reshape(row.length(), 1);
    }

    private static INDArray columns(INDArray a, long from, long count) {
        return a.get(NDArrayIndex.all(), NDArrayIndex.interval(from, from + count));
    }

    private static INDArray slice(INDArray a, int i) {
        return a.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
    }

    /** The masks' names and shapes (for tests that compare with {@link GptGraph}). */
    Map<String, long[]> maskShapes() {
        return new HashMap<>(maskShapes);
    }
}
