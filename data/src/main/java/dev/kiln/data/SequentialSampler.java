package dev.kiln.data;

import java.util.PrimitiveIterator;
import java.util.stream.LongStream;

/** {@code 0, 1, ..., n - 1}, every epoch. */
public final class SequentialSampler implements Sampler {

    private final long n;

    /** The indices of a dataset of {@code n} items, in order. */
    public SequentialSampler(long n) {
        if (n < 0) {
            throw new IllegalArgumentException("SequentialSampler: negative size " + n);
        }
        this.n = n;
    }

    @Override
    public PrimitiveIterator.OfLong iterator() {
        return LongStream.range(0, n).iterator();
    }

    @Override
    public long size() {
        return n;
    }
}
