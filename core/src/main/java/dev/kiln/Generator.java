package dev.kiln;

/**
 * A seedable source of random numbers, the counterpart of {@code torch.Generator}. Its state is a
 * seed and an offset into the Philox stream; every random op reserves the blocks it draws, so a run
 * is reproducible from {@link Kiln#manualSeed(long)} regardless of threads or backend. Thread-safe.
 */
public final class Generator {

    private static final Generator DEFAULT = new Generator(67280421310721L);

    private long seed;
    private long offset;

    public Generator(long seed) {
        this.seed = seed;
    }

    /** The generator used when none is given, reseeded by {@link Kiln#manualSeed(long)}. */
    public static Generator defaultGenerator() {
        return DEFAULT;
    }

    /** Restarts the stream from {@code seed}. Returns this generator. */
    public synchronized Generator manualSeed(long seed) {
        this.seed = seed;
        this.offset = 0;
        return this;
    }

    public synchronized long seed() {
        return seed;
    }

    /** The state as {@code [seed, offset]}, for checkpoints. */
    public synchronized long[] getState() {
        return new long[] {seed, offset};
    }

    /** Restores a state from {@link #getState()}. */
    public synchronized void setState(long[] state) {
        if (state.length != 2) {
            throw new IllegalArgumentException("Generator.setState: expected [seed, offset], got " + state.length + " values");
        }
        this.seed = state[0];
        this.offset = state[1];
    }

    /**
     * Reserves {@code blocks} Philox blocks and returns {@code [seed, firstBlock]}; backends draw
     * from exactly those.
     */
    public synchronized long[] reserve(long blocks) {
        long start = offset;
        offset += blocks;
        return new long[] {seed, start};
    }

    /** Uniform doubles in [0, 1) drawn on the host, for host-side algorithms such as randperm. */
    public double[] uniformDoubles(int n) {
        long[] at = reserve(Philox.blocksForUniform(n, DType.FLOAT64));
        double[] out = new double[n];
        int[] words = new int[4];
        for (int i = 0; i < n; i++) {
            if (i % 2 == 0) {
                Philox.block(at[0], at[1] + i / 2, words);
            }
            int w = 2 * (i % 2);
            out[i] = Philox.uniformDouble(words[w], words[w + 1]);
        }
        return out;
    }
}
