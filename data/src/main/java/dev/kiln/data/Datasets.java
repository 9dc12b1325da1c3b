package dev.kiln.data;

import dev.kiln.Generator;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Helpers over datasets: {@link #randomSplit} and friends. */
public final class Datasets {

    private Datasets() {
    }

    /**
     * Splits {@code dataset} into non-overlapping random subsets of the given lengths, which must add
     * up to the dataset's size, as {@code torch.utils.data.random_split}.
     */
    public static <T> List<Subset<T>> randomSplit(Dataset<T> dataset, long[] lengths, Generator generator) {
        long n = dataset.size();
        long total = 0;
        for (long l : lengths) {
            if (l < 0) {
                throw new IllegalArgumentException("randomSplit: negative length in " + Arrays.toString(lengths));
            }
            total += l;
        }
        if (total != n) {
            throw new IllegalArgumentException("randomSplit: the lengths " + Arrays.toString(lengths) + " add up to "
                    + total + " but the dataset has " + n + " items");
        }
        long[] perm = Tensor.randperm(n, generator).toLongArray();
        List<Subset<T>> out = new ArrayList<>(lengths.length);
        int at = 0;
        for (long l : lengths) {
            out.add(new Subset<>(dataset, Arrays.copyOfRange(perm, at, at + (int) l)));
            at += (int) l;
        }
        return out;
    }

    /** {@link #randomSplit(Dataset, long[], Generator)} with the default generator. */
    public static <T> List<Subset<T>> randomSplit(Dataset<T> dataset, long... lengths) {
        return randomSplit(dataset, lengths, Generator.defaultGenerator());
    }

    /**
     * Splits {@code dataset} by fractions that add up to 1 ({@code {0.8, 0.2}}): each part gets
     * {@code floor(size * fraction)} items and the leftover items go one each to the first parts, as
     * PyTorch does.
     */
    public static <T> List<Subset<T>> randomSplit(Dataset<T> dataset, double[] fractions, Generator generator) {
        return randomSplit(dataset, lengthsOf(fractions, dataset.size()), generator);
    }

    /** {@link #randomSplit(Dataset, double[], Generator)} with the default generator. */
    public static <T> List<Subset<T>> randomSplit(Dataset<T> dataset, double... fractions) {
        return randomSplit(dataset, fractions, Generator.defaultGenerator());
    }

    static long[] lengthsOf(double[] fractions, long n) {
        if (fractions.length == 0) {
            throw new IllegalArgumentException("randomSplit: expected at least one fraction");
        }
        double sum = 0;
        for (double f : fractions) {
            if (!(f >= 0 && f <= 1)) {
                throw new IllegalArgumentException("randomSplit: fraction " + f + " is not in [0, 1] in "
                        + Arrays.toString(fractions));
            }
            sum += f;
        }
        if (Math.abs(sum - 1) > 1e-9) {
            throw new IllegalArgumentException("randomSplit: the fractions " + Arrays.toString(fractions)
                    + " add up to " + sum + ", not 1");
        }
        long[] lengths = new long[fractions.length];
        long used = 0;
        for (int i = 0; i < fractions.length; i++) {
            lengths[i] = (long) Math.floor(n * fractions[i]);
            used += lengths[i];
        }
        for (long r = 0; r < n - used; r++) {
            lengths[(int) (r % lengths.length)]++;
        }
        return lengths;
    }

    static void checkIndex(String what, long index, long size) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException(what + ": index " + index + " is out of range for size " + size);
        }
    }

    /** A collated batch: one gather when the dataset can, else item by item and the default collate. */
    static <T> T fetch(Dataset<T> dataset, long[] indices) {
        return fetch(dataset, indices, true);
    }

    @SuppressWarnings("unchecked")
    static <T> T fetch(Dataset<T> dataset, long[] indices, boolean allowBatch) {
        if (allowBatch && dataset instanceof BatchDataset<T> b && b.supportsBatch()) {
            return b.getBatch(indices);
        }
        List<T> items = new ArrayList<>(indices.length);
        for (long i : indices) {
            items.add(dataset.get(i));
        }
        return (T) Collate.defaultCollate(items);
    }
}
