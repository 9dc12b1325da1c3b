package dev.kiln.data;

import dev.kiln.Generator;

import java.util.Arrays;
import java.util.PrimitiveIterator;

/**
 * Index {@code i} drawn with probability proportional to {@code weights[i]}, as
 * {@code torch.utils.data.WeightedRandomSampler}: the usual remedy for unbalanced classes.
 */
public final class WeightedRandomSampler implements Sampler {

    private final double[] cumulative;
    private final double[] weights;
    private final long numSamples;
    private final boolean replacement;
    private final Generator generator;

    /**
     * @param weights     non-negative, not all zero
     * @param numSamples  indices per epoch
     * @param replacement whether an index may come more than once per epoch
     * @param generator   the source of randomness (null: the default generator)
     */
    public WeightedRandomSampler(double[] weights, long numSamples, boolean replacement, Generator generator) {
        double total = 0;
        long positive = 0;
        cumulative = new double[weights.length];
        for (int i = 0; i < weights.length; i++) {
            if (!(weights[i] >= 0) || Double.isInfinite(weights[i])) {
                throw new IllegalArgumentException("WeightedRandomSampler: weight " + i + " is " + weights[i]
                        + "; weights must be finite and non-negative");
            }
            total += weights[i];
            cumulative[i] = total;
            positive += weights[i] > 0 ? 1 : 0;
        }
        if (total <= 0) {
            throw new IllegalArgumentException("WeightedRandomSampler: the weights add up to " + total);
        }
        if (!replacement && numSamples > positive) {
            throw new IllegalArgumentException("WeightedRandomSampler: cannot draw " + numSamples + " samples without"
                    + " replacement from " + positive + " indices of nonzero weight");
        }
        this.weights = weights.clone();
        this.numSamples = numSamples;
        this.replacement = replacement;
        this.generator = generator;
    }

    /** {@code numSamples} draws with replacement from the default generator. */
    public WeightedRandomSampler(double[] weights, long numSamples) {
        this(weights, numSamples, true, null);
    }

    @Override
    public PrimitiveIterator.OfLong iterator() {
        Generator g = generator != null ? generator : Generator.defaultGenerator();
        int k = Math.toIntExact(numSamples);
        long[] order = new long[k];
        if (replacement) {
            double total = cumulative[cumulative.length - 1];
            double[] u = g.uniformDoubles(k);
            for (int i = 0; i < k; i++) {
                int j = Arrays.binarySearch(cumulative, u[i] * total);
                j = j >= 0 ? j + 1 : -j - 1;
                // Skip zero-weight entries that share a running total with the one before.
                while (j < cumulative.length - 1 && weights[j] == 0) {
                    j++;
                }
                order[i] = Math.min(j, cumulative.length - 1);
            }
        } else {
            // Weighted sampling without replacement by exponential keys (Efraimidis and Spirakis).
            double[] u = g.uniformDoubles(weights.length);
            Integer[] idx = new Integer[weights.length];
            double[] key = new double[weights.length];
            for (int i = 0; i < weights.length; i++) {
                idx[i] = i;
                key[i] = weights[i] > 0 ? Math.log(1 - u[i]) / weights[i] : Double.NEGATIVE_INFINITY;
            }
            Arrays.sort(idx, (a, b) -> Double.compare(key[b], key[a]));
            for (int i = 0; i < k; i++) {
                order[i] = idx[i];
            }
        }
        return Arrays.stream(order).iterator();
    }

    @Override
    public long size() {
        return numSamples;
    }
}
