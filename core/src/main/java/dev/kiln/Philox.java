package dev.kiln;

/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
 * counter-based generator, so element {@code i} of a random fill is a pure function of
 * (seed, counter) and any backend, on any number of threads, draws the very same numbers.
 *
 * <p>Kiln's convention, shared with the CUDA kernels: a block is the four 32-bit words for
 * counter {@code c} under key {@code seed}. Uniform float32 element {@code i} of a fill starting at
 * block offset {@code o} is word {@code i % 4} of block {@code o + i / 4}, mapped by
 * {@link #uniformFloat}; a uniform float64 element uses words {@code 2(i%2), 2(i%2)+1} of block
 * {@code o + i / 2}; a normal element uses all four words of block {@code o + i}
 * ({@link #normal}). {@link #blocksForUniform}/{@link #blocksForNormal} say how far a fill advances the
 * generator.
 */
public final class Philox {

    private static final int M0 = 0xD2511F53;
    private static final int M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9;
    private static final int W1 = 0xBB67AE85;
    private static final double TWO_PI = 2 * Math.PI;

    private Philox() {
    }

    /** Writes the four words of block {@code counter} under {@code seed} into {@code out[0..3]}. */
    public static void block(long seed, long counter, int[] out) {
        int c0 = (int) counter;
        int c1 = (int) (counter >>> 32);
        int c2 = 0;
        int c3 = 0;
        int k0 = (int) seed;
        int k1 = (int) (seed >>> 32);
        for (int round = 0; round < 10; round++) {
            long p0 = (M0 & 0xFFFFFFFFL) * (c0 & 0xFFFFFFFFL);
            long p1 = (M1 & 0xFFFFFFFFL) * (c2 & 0xFFFFFFFFL);
            int hi0 = (int) (p0 >>> 32);
            int lo0 = (int) p0;
            int hi1 = (int) (p1 >>> 32);
            int lo1 = (int) p1;
            c0 = hi1 ^ c1 ^ k0;
            c1 = lo1;
            c2 = hi0 ^ c3 ^ k1;
            c3 = lo0;
            k0 += W0;
            k1 += W1;
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }

    /** A word mapped to [0, 1) with 24 bits, exactly representable in float32. */
    public static float uniformFloat(int word) {
        return (word >>> 8) * 0x1.0p-24f;
    }

    /** Two words mapped to [0, 1) with 53 bits. */
    public static double uniformDouble(int hiWord, int loWord) {
        return ((hiWord >>> 5) * 67108864.0 + (loWord >>> 6)) * 0x1.0p-53;
    }

    /**
     * A standard normal from one block (Box-Muller): words 0-1 give u1, words 2-3 give u2, each with
     * 53 bits; 1 - u1 keeps the logarithm finite.
     */
    public static double normal(int[] block) {
        double u1 = 1.0 - uniformDouble(block[0], block[1]);
        double u2 = uniformDouble(block[2], block[3]);
        return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(TWO_PI * u2);
    }

    /** Blocks consumed by a uniform fill of {@code n} elements of {@code dtype}. */
    public static long blocksForUniform(long n, DType dtype) {
        return dtype == DType.FLOAT64 ? (n + 1) / 2 : (n + 3) / 4;
    }

    /** Blocks consumed by a normal fill of {@code n} elements. */
    public static long blocksForNormal(long n) {
        return n;
    }
}
