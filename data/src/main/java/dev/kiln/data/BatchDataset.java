package dev.kiln.data;

/**
 * A dataset that can fetch many items at once, already collated. Datasets whose items are rows of
 * tensors ({@link TensorDataset}, MNIST) gather a batch with one {@code indexSelect} per tensor
 * instead of slicing and stacking sample by sample, which is what makes an epoch of loading cheap.
 *
 * <p>{@link DataLoader} uses {@link #getBatch} when it collates with the default collate function
 * and {@link #supportsBatch()} is true; a custom collate function always receives individual items.
 *
 * @param <T> the item type; with the default collate a batch has the same structure as an item (a
 *            {@code List<Tensor>} item gives a {@code List<Tensor>} batch of stacked tensors)
 */
public interface BatchDataset<T> extends Dataset<T> {

    /**
     * The items at {@code indices}, collated exactly as {@link Collate#defaultCollate} would collate
     * {@code get(i)} for each index, in order.
     */
    T getBatch(long[] indices);

    /**
     * Whether {@link #getBatch} is available: wrappers such as {@link Subset} implement this
     * interface but can fetch batches only when the dataset they wrap can.
     */
    default boolean supportsBatch() {
        return true;
    }
}
