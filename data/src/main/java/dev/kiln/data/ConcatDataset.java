package dev.kiln.data;

import java.util.Arrays;
import java.util.List;

/**
 * Datasets one after another, the counterpart of {@code torch.utils.data.ConcatDataset}: index
 * {@code i} runs through the first dataset, then the second, and so on.
 *
 * @param <T> the item type
 */
public final class ConcatDataset<T> implements BatchDataset<T> {

    private final List<Dataset<? extends T>> datasets;
    /** {@code cumulative[k]} = total size of datasets {@code 0..k}. */
    private final long[] cumulative;

    /** The datasets one after another. */
    @SafeVarargs
    @SuppressWarnings("varargs") // the array is only read, through the list view
    public ConcatDataset(Dataset<? extends T>... datasets) {
        this(Arrays.asList(datasets));
    }

    /** The datasets one after another. */
    public ConcatDataset(List<? extends Dataset<? extends T>> datasets) {
        if (datasets.isEmpty()) {
            throw new IllegalArgumentException("ConcatDataset: expected at least one dataset");
        }
        this.datasets = List.copyOf(datasets);
        this.cumulative = new long[datasets.size()];
        long total = 0;
        for (int k = 0; k < datasets.size(); k++) {
            total += datasets.get(k).size();
            cumulative[k] = total;
        }
    }

    /** The datasets, in order. */
    public List<Dataset<? extends T>> datasets() {
        return datasets;
    }

    /** Running totals of the sizes: element {@code k} is the size of datasets {@code 0..k} together. */
    public long[] cumulativeSizes() {
        return cumulative.clone();
    }

    @Override
    public long size() {
        return cumulative[cumulative.length - 1];
    }

    private int part(long index) {
        int k = Arrays.binarySearch(cumulative, index);
        // An exact hit at cumulative[k] is the first item of the next non-empty part.
        k = k >= 0 ? k + 1 : -k - 1;
        while (k < cumulative.length - 1 && cumulative[k] == (k == 0 ? 0 : cumulative[k - 1])) {
            k++;
        }
        return k;
    }

    private long start(int k) {
        return k == 0 ? 0 : cumulative[k - 1];
    }

    @Override
    public T get(long index) {
        Datasets.checkIndex("ConcatDataset", index, size());
        int k = part(index);
        return datasets.get(k).get(index - start(k));
    }

    /** True when every part can fetch batches; a batch spanning parts is still fetched item by item. */
    @Override
    public boolean supportsBatch() {
        for (Dataset<? extends T> d : datasets) {
            if (!(d instanceof BatchDataset<?> b && b.supportsBatch())) {
                return false;
            }
        }
        return true;
    }

    @Override
    @SuppressWarnings("unchecked")
    public T getBatch(long[] indices) {
        if (indices.length > 0) {
            for (long i : indices) {
                Datasets.checkIndex("ConcatDataset", i, size());
            }
            int k = part(indices[0]);
            long lo = start(k);
            long hi = cumulative[k];
            boolean onePart = true;
            for (long i : indices) {
                onePart &= i >= lo && i < hi;
            }
            if (onePart) {
                long[] local = new long[indices.length];
                for (int j = 0; j < indices.length; j++) {
                    local[j] = indices[j] - lo;
                }
                return Datasets.fetch((Dataset<T>) datasets.get(k), local);
            }
        }
        return Datasets.fetch(this, indices, false);
    }
}
