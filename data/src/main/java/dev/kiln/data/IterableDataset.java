package dev.kiln.data;

/**
 * A stream-style dataset, the counterpart of {@code torch.utils.data.IterableDataset}: items come
 * from an iterator, in order, and cannot be addressed by index (so a {@link DataLoader} over one
 * cannot shuffle or use a sampler). Each call to {@link #iterator()} starts a new pass (one epoch).
 *
 * @param <T> the item type
 */
public interface IterableDataset<T> extends Iterable<T> {

    /** The number of items per pass, or {@code -1} when it is not known in advance. */
    default long size() {
        return -1;
    }
}
