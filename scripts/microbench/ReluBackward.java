/**
 * ReLU's backward pass three ways over a [4096, 1536] array (the gpt preset's feed-forward, one shard), and whether
 * they give the same bits:  java scripts/microbench/ReluBackward.java
 * The branch is what FeedForward did before; the branch-free form is what it does now (docs/BENCHMARKS.md).
 */
public class ReluBackward {
    static void branch(float[] h, float[] dh) {
        for (int i = 0; i < dh.length; i++) {
            if (h[i] <= 0f) {
                dh[i] = 0f;
            }
        }
    }

    static void branchFree(float[] h, float[] dh) {
        for (int i = 0; i < dh.length; i++) {
            dh[i] = dh[i] * Math.min(1f, h[i] * 0x1p126f * 0x1p126f) + 0f;
        }
    }

    static void ternary(float[] h, float[] dh) {
        for (int i = 0; i < dh.length; i++) {
            dh[i] = h[i] > 0f ? dh[i] : 0f;
        }
    }

    public static void main(String[] args) {
        int n = 4096 * 1536;
        float[] h = new float[n], d0 = new float[n], d1 = new float[n], d2 = new float[n], d3 = new float[n];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < n; i++) {
            h[i] = Math.max(0f, (float) r.nextGaussian());   // a ReLU's output: half zeros
            d0[i] = (float) r.nextGaussian();
        }
        h[5] = Float.MIN_VALUE;   // the smallest positive float, a subnormal
        h[7] = 1e-40f;
        h[9] = Float.MAX_VALUE;
        for (int rep = 0; rep < 8; rep++) {
            System.arraycopy(d0, 0, d1, 0, n);
            long t0 = System.nanoTime();
            branch(h, d1);
            long a = System.nanoTime() - t0;
            System.arraycopy(d0, 0, d2, 0, n);
            t0 = System.nanoTime();
            branchFree(h, d2);
            long b = System.nanoTime() - t0;
            System.arraycopy(d0, 0, d3, 0, n);
            t0 = System.nanoTime();
            ternary(h, d3);
            long c = System.nanoTime() - t0;
            boolean same = true;
            for (int i = 0; i < n; i++) {
                same &= Float.floatToRawIntBits(d1[i]) == Float.floatToRawIntBits(d2[i]);
            }
            System.out.printf("branch %.2f ms, branch-free %.2f ms, ternary %.2f ms; branch-free same bits: %b%n",
                    a / 1e6, b / 1e6, c / 1e6, same);
        }
    }
}
