package dev.kiln.data;

/**
 * A map-style dataset, the counterpart of {@code torch.utils.data.Dataset}: items addressed by an
 * index in {@code [0, size())}.
 *
 * <p>Implementations must be safe to call from several threads at once when used with a
 * {@link DataLoader} that has {@code numWorkers > 0}. A dataset whose items are rows of tensors can
 * also implement {@link BatchDataset} so that the loader gathers a whole batch in one indexed copy.
 *
 * @param <T> the item type, for example {@code List<Tensor>} for an (input, target) pair
 */
public interface Dataset<T> {

    /** The item at {@code index}, {@code 0 <= index < size()}. */
    T get(long index);

    /** The number of items. */
    long size();
}
