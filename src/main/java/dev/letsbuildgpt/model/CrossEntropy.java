package dev.letsbuildgpt.model;

import org.nd4j.autodiff.loss.LossReduce;
import org.nd4j.autodiff.samediff.SDVariable;

/**
 * The loss: cross-entropy between softmax(logits) and the next tokens, {@code -log p(target)} averaged over every
 * position of the batch (PyTorch's {@code F.cross_entropy}). An untrained model that spreads its bets evenly over
 * 65 characters scores ln 65 = 4.17.
 */
public final class CrossEntropy {
    private CrossEntropy() {
    }

    // ------------------------------------------------------------------------------ SameDiff: the reference definition

    /**
     * logits [N, V], targets [N] -> the mean loss. SameDiff's softmax cross-entropy on one-hot targets (its sparse
     * variant's gradient has the wrong scale in 1.0.0-M2.1).
     */
    public static SDVariable define(Graph g, String name, SDVariable logits, SDVariable targets, int vocab) {
        SDVariable labels = g.sd().oneHot(null, targets, vocab, -1, 1.0, 0.0, g.dataType());   // [N, V]
        return g.sd().loss.softmaxCrossEntropy(name, labels, logits, null, LossReduce.MEAN_BY_NONZERO_WEIGHT_COUNT, 0.0);
    }

    // --------------------------------------------------------------------- fast path: forward and backward, on the CPU

    /**
     * Turns each row of logits [rows, V] into probabilities, in place, and returns the summed loss of the rows:
     * per row {@code logsumexp(logits) - logits[target]}.
     */
    public static double forward(float[] logits, int[] targets, int rows, int vocab) {
        double loss = 0;
        for (int row = 0; row < rows; row++) {
            int o = row * vocab;
            float max = Float.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) {
                max = Math.max(max, logits[o + v]);
            }
            double sum = 0;
            float target = logits[o + targets[row]];
            for (int v = 0; v < vocab; v++) {
                float e = (float) Math.exp(logits[o + v] - max);
                logits[o + v] = e;
                sum += e;
            }
            float inv = (float) (1 / sum);
            for (int v = 0; v < vocab; v++) {
                logits[o + v] *= inv;
            }
            loss += Math.log(sum) - (target - max);
        }
        return loss;
    }

    /**
     * The gradient of {@code scale *} the summed loss with respect to the logits, in place of the probabilities that
     * {@link #forward} left: {@code (softmax - one_hot(target)) * scale}. With scale 1/N (N the whole batch's
     * positions) it is the mean loss's gradient.
     */
    public static void backward(float[] probs, int[] targets, int rows, int vocab, float scale) {
        for (int row = 0; row < rows; row++) {
            probs[row * vocab + targets[row]] -= 1f;
        }
        for (int i = 0; i < rows * vocab; i++) {
            probs[i] *= scale;
        }
    }
}
