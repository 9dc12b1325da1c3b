package dev.kiln.data;

import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.PrimitiveIterator;

/**
 * Yields the indices of each batch, the counterpart of {@code torch.utils.data.BatchSampler}. Give a
 * custom one to a {@link DataLoader} for batches of varying size or composition (bucketing by
 * length, balanced classes); {@link #of} chunks a {@link Sampler} into fixed-size batches.
 */
public interface BatchSampler extends Iterable<long[]> {

    /** One epoch's batches; each array holds the dataset indices of one batch, in order. */
    @Override
    Iterator<long[]> iterator();

    /** The number of batches per epoch, or {@code -1} when unknown. */
    long size();

    /**
     * Chunks {@code sampler}'s indices into batches of {@code batchSize}; the last batch is smaller
     * unless {@code dropLast}, in which case it is left out.
     */
    static BatchSampler of(Sampler sampler, int batchSize, boolean dropLast) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("BatchSampler: batchSize must be positive, got " + batchSize);
        }
        return new BatchSampler() {
            @Override
            public Iterator<long[]> iterator() {
                PrimitiveIterator.OfLong it = sampler.iterator();
                return new Iterator<>() {
                    private long[] next = advance();

                    private long[] advance() {
                        long[] batch = new long[batchSize];
                        int k = 0;
                        while (k < batchSize && it.hasNext()) {
                            batch[k++] = it.nextLong();
                        }
                        if (k == 0 || (dropLast && k < batchSize)) {
                            return null;
                        }
                        return k == batchSize ? batch : Arrays.copyOf(batch, k);
                    }

                    @Override
                    public boolean hasNext() {
                        return next != null;
                    }

                    @Override
                    public long[] next() {
                        if (next == null) {
                            throw new NoSuchElementException();
                        }
                        long[] out = next;
                        next = advance();
                        return out;
                    }
                };
            }

            @Override
            public long size() {
                long n = sampler.size();
                if (n < 0) {
                    return -1;
                }
                return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
            }
        };
    }
}
