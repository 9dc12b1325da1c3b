package dev.kiln.data;

import java.util.PrimitiveIterator;

/**
 * The order in which a {@link DataLoader} visits a dataset's indices, the counterpart of
 * {@code torch.utils.data.Sampler}. Each call to {@link #iterator()} yields one epoch's indices;
 * a random sampler draws a fresh order each time.
 */
public interface Sampler extends Iterable<Long> {

    /** The indices of one epoch, in order. */
    @Override
    PrimitiveIterator.OfLong iterator();

    /** The number of indices per epoch, or {@code -1} when unknown. */
    long size();
}
