package dev.kiln.data;

import dev.kiln.Generator;
import dev.kiln.Tensor;

import java.util.Arrays;
import java.util.PrimitiveIterator;

/**
 * Indices in random order, the counterpart of {@code torch.utils.data.RandomSampler}. Without
 * replacement each epoch is a fresh permutation ({@link Tensor#randperm(long, Generator)}); with
 * replacement it is {@code numSamples} independent uniform draws. The generator is read when an
 * epoch starts: the given one, or else Kiln's default generator, so {@code Kiln.manualSeed} makes
 * the sequence of epochs reproducible.
 */
public final class RandomSampler implements Sampler {

    private final long n;
    private final boolean replacement;
    private final long numSamples;
    private final Generator generator;

    /** A fresh permutation of {@code 0..n-1} each epoch, from the default generator. */
    public RandomSampler(long n) {
        this(n, false, n, null);
    }

    /** A fresh permutation of {@code 0..n-1} each epoch, from {@code generator} (null: the default one). */
    public RandomSampler(long n, Generator generator) {
        this(n, false, n, generator);
    }

    /**
     * {@code numSamples} indices per epoch; without replacement {@code numSamples} must not exceed
     * {@code n} and the epoch is the start of a permutation.
     */
    public RandomSampler(long n, boolean replacement, long numSamples, Generator generator) {
        if (n < 0 || numSamples < 0) {
            throw new IllegalArgumentException("RandomSampler: negative size (n=" + n + ", numSamples=" + numSamples + ")");
        }
        if (!replacement && numSamples > n) {
            throw new IllegalArgumentException("RandomSampler: cannot draw " + numSamples + " samples from " + n
                    + " without replacement");
        }
        if (replacement && n == 0 && numSamples > 0) {
            throw new IllegalArgumentException("RandomSampler: cannot draw from an empty dataset");
        }
        this.n = n;
        this.replacement = replacement;
        this.numSamples = numSamples;
        this.generator = generator;
    }

    @Override
    public PrimitiveIterator.OfLong iterator() {
        Generator g = generator != null ? generator : Generator.defaultGenerator();
        long[] order;
        if (replacement) {
            double[] u = g.uniformDoubles(Math.toIntExact(numSamples));
            order = new long[u.length];
            for (int i = 0; i < u.length; i++) {
                order[i] = Math.min(n - 1, (long) (u[i] * n));
            }
        } else {
            order = Tensor.randperm(n, g).toLongArray();
            if (numSamples < n) {
                order = Arrays.copyOf(order, (int) numSamples);
            }
        }
        return Arrays.stream(order).iterator();
    }

    @Override
    public long size() {
        return numSamples;
    }
}
