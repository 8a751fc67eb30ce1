package dev.letsbuildgpt.data;

/**
 * The random stream that draws batches: {@code java.util.Random}'s generator, written out so that its whole state
 * is one number that a checkpoint can store as plain data. It draws exactly what {@code java.util.Random} draws from
 * the same seed (tested), so the batches are those of earlier versions of this project.
 *
 * <p>A 48-bit linear congruential generator, as specified in {@code java.util.Random}'s documentation.
 */
public final class Rng {
    private static final long MULTIPLIER = 0x5DEECE66DL;
    private static final long ADDEND = 0xBL;
    private static final long MASK = (1L << 48) - 1;
    private long state;

    /** The stream {@code new java.util.Random(seed)} gives. */
    public Rng(long seed) {
        this.state = (seed ^ MULTIPLIER) & MASK;
    }

    private Rng() {
    }

    /** A stream continuing from a state saved by {@link #state()}. */
    public static Rng fromState(long state) {
        if (state < 0 || state > MASK) {
            throw new IllegalArgumentException("not a 48-bit random state: " + state);
        }
        Rng r = new Rng();
        r.state = state;
        return r;
    }

    /** The generator's whole state, a number in [0, 2^48). */
    public long state() {
        return state;
    }

    private int next(int bits) {
        state = (state * MULTIPLIER + ADDEND) & MASK;
        return (int) (state >>> (48 - bits));
    }

    /** A uniform integer in [0, bound), as {@code java.util.Random.nextInt(bound)}. */
    public int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive");
        }
        int r = next(31);
        int m = bound - 1;
        if ((bound & m) == 0) {
            return (int) ((bound * (long) r) >> 31);
        }
        for (int u = r; u - (r = u % bound) + m < 0; u = next(31)) {
            // rejected: u fell in the incomplete last block of [0, 2^31)
        }
        return r;
    }
}
