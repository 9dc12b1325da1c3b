package dev.kiln.data;

import java.util.Arrays;

/**
 * The items of a dataset at a list of indices, the counterpart of {@code torch.utils.data.Subset};
 * what {@link Datasets#randomSplit} returns. Fetches batches at once when the wrapped dataset can.
 *
 * @param <T> the item type
 */
public final class Subset<T> implements BatchDataset<T> {

    private final Dataset<T> dataset;
    private final long[] indices;

    /** The items of {@code dataset} at {@code indices} (copied), in that order. */
    public Subset(Dataset<T> dataset, long[] indices) {
        this.dataset = dataset;
        this.indices = indices.clone();
        long n = dataset.size();
        for (int i = 0; i < this.indices.length; i++) {
            if (this.indices[i] < 0 || this.indices[i] >= n) {
                throw new IndexOutOfBoundsException("Subset: index " + this.indices[i] + " (position " + i
                        + ") is out of range for a dataset of size " + n);
            }
        }
    }

    /** The wrapped dataset. */
    public Dataset<T> dataset() {
        return dataset;
    }

    /** The indices into the wrapped dataset (a copy). */
    public long[] indices() {
        return indices.clone();
    }

    @Override
    public long size() {
        return indices.length;
    }

    @Override
    public T get(long index) {
        Datasets.checkIndex("Subset", index, indices.length);
        return dataset.get(indices[(int) index]);
    }

    @Override
    public boolean supportsBatch() {
        return dataset instanceof BatchDataset<T> b && b.supportsBatch();
    }

    @Override
    public T getBatch(long[] batch) {
        long[] mapped = new long[batch.length];
        for (int i = 0; i < batch.length; i++) {
            Datasets.checkIndex("Subset", batch[i], indices.length);
            mapped[i] = indices[(int) batch[i]];
        }
        return Datasets.fetch(dataset, mapped);
    }

    @Override
    public String toString() {
        return "Subset(" + indices.length + " of " + dataset + ", first " + Arrays.toString(
                Arrays.copyOf(indices, Math.min(5, indices.length))) + ")";
    }
}
