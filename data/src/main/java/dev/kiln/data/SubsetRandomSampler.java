package dev.kiln.data;

import dev.kiln.Generator;
import dev.kiln.Tensor;

import java.util.Arrays;
import java.util.PrimitiveIterator;

/** The given indices in a fresh random order each epoch, as {@code torch.utils.data.SubsetRandomSampler}. */
public final class SubsetRandomSampler implements Sampler {

    private final long[] indices;
    private final Generator generator;

    /** Shuffles {@code indices} (copied) with {@code generator} (null: the default one) each epoch. */
    public SubsetRandomSampler(long[] indices, Generator generator) {
        this.indices = indices.clone();
        this.generator = generator;
    }

    /** Shuffles {@code indices} with the default generator each epoch. */
    public SubsetRandomSampler(long... indices) {
        this(indices, null);
    }

    @Override
    public PrimitiveIterator.OfLong iterator() {
        Generator g = generator != null ? generator : Generator.defaultGenerator();
        long[] perm = Tensor.randperm(indices.length, g).toLongArray();
        long[] order = new long[indices.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = indices[(int) perm[i]];
        }
        return Arrays.stream(order).iterator();
    }

    @Override
    public long size() {
        return indices.length;
    }
}
