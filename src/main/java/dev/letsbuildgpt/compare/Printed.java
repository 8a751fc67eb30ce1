package dev.letsbuildgpt.compare;

/**
 * What the lecture's notebook (gpt-dev.ipynb, karpathy/ng-video-lecture) prints along the way, for the chapters to
 * show beside ours. Two kinds:
 * <ul>
 *   <li>deterministic outputs (the vocabulary, encodings, the first tokens of the data, a softmax of fixed numbers):
 *   ours must match them exactly, and the chapters check that they do;</li>
 *   <li>outputs of PyTorch's random streams ({@code torch.manual_seed(1337)}: the first batch, the untrained
 *   model's loss and sample, one head's attention weights on random input): ours come from other streams (the
 *   batches from {@code java.util.Random}'s generator, the weights too), so they land near, not on, the lecture's.</li>
 * </ul>
 */
public final class Printed {
    private Printed() {
    }

    /** {@code print(len(text))}: characters in Tiny Shakespeare. */
    public static final int TEXT_LENGTH = 1_115_394;
    /** {@code ''.join(chars)}: the 65 characters, in order (the first is the newline). */
    public static final String VOCABULARY = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    /** {@code print(encode("hii there"))} */
    public static final int[] HII_THERE = {46, 47, 47, 1, 58, 46, 43, 56, 43};
    /** {@code train_data[:block_size+1]}: "First Cit". */
    public static final int[] FIRST_TOKENS = {18, 47, 56, 57, 58, 1, 15, 47, 58};

    /** {@code xb} after {@code torch.manual_seed(1337)}: the first batch (4 x 8) of the lecture's get_batch. */
    public static final int[][] FIRST_BATCH_X = {
            {24, 43, 58, 5, 57, 1, 46, 43},
            {44, 53, 56, 1, 58, 46, 39, 58},
            {52, 58, 1, 58, 46, 39, 58, 1},
            {25, 17, 27, 10, 0, 21, 1, 54}};
    /** {@code yb}: the same windows shifted by one. */
    public static final int[][] FIRST_BATCH_Y = {
            {43, 58, 5, 57, 1, 46, 43, 39},
            {53, 56, 1, 58, 46, 39, 58, 1},
            {58, 1, 58, 46, 39, 58, 1, 46},
            {17, 27, 10, 0, 21, 1, 54, 39}};

    /** The untrained bigram model's loss on that batch (the lecture notes it is above ln 65 = 4.17). */
    public static final double UNTRAINED_BIGRAM_LOSS = 4.8786;
    /** The untrained bigram model's 100 generated characters, from token 0 (a newline). */
    public static final String UNTRAINED_BIGRAM_SAMPLE =
            "\nSKIcLT;AcELMoTbvZv C?nq-QE33:CJqkOKH-q;:la!oiywkHjgChzbQ?u!3bLIgwevmyFJGUGp\nwnYWmnxKWWev-tDqXErVKLgJ";

    /**
     * {@code wei[0]} of the lecture's "version 4: self-attention" cell: one head of size 16 on random x (B, T, C = 4,
     * 8, 32), without the head_size^-0.5 scale yet.
     */
    public static final double[][] HEAD_WEI0 = {
            {1.0000, 0, 0, 0, 0, 0, 0, 0},
            {0.1574, 0.8426, 0, 0, 0, 0, 0, 0},
            {0.2088, 0.1646, 0.6266, 0, 0, 0, 0, 0},
            {0.5792, 0.1187, 0.1889, 0.1131, 0, 0, 0, 0},
            {0.0294, 0.1052, 0.0469, 0.0276, 0.7909, 0, 0, 0},
            {0.0176, 0.2689, 0.0215, 0.0089, 0.6812, 0.0019, 0, 0},
            {0.1691, 0.4066, 0.0438, 0.0416, 0.1048, 0.2012, 0.0329, 0},
            {0.0210, 0.0843, 0.0555, 0.2297, 0.0573, 0.0709, 0.2423, 0.2391}};

    /** The variances of k, q and the scaled scores q k^T * head_size^-0.5 for unit-Gaussian k and q (head size 16). */
    public static final double K_VAR = 1.0449;
    public static final double Q_VAR = 1.0700;
    public static final double SCALED_WEI_VAR = 1.0918;

    /** {@code torch.softmax(torch.tensor([0.1, -0.2, 0.3, -0.2, 0.5]), dim=-1)}, and the same logits times 8. */
    public static final double[] SOFTMAX = {0.1925, 0.1426, 0.2351, 0.1426, 0.2872};
    public static final double[] SOFTMAX_TIMES_8 = {0.0326, 0.0030, 0.1615, 0.0030, 0.8000};

    /** One line: the lecture's value, ours, and why they differ (or that they must not). */
    public static String beside(String what, Object lecture, Object ours, String why) {
        return String.format("%s%n  lecture: %s%n  ours:    %s%n  (%s)", what, text(lecture), text(ours), why);
    }

    private static String text(Object o) {
        if (o instanceof int[] a) {
            return java.util.Arrays.toString(a);
        }
        if (o instanceof int[][] a) {
            return java.util.Arrays.deepToString(a);
        }
        if (o instanceof double[] a) {
            return java.util.Arrays.toString(a);
        }
        return String.valueOf(o).replace("\n", "\\n");
    }
}
