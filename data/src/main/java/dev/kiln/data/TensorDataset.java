package dev.kiln.data;

import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A dataset over tensors that share their first dim, the counterpart of
 * {@code torch.utils.data.TensorDataset}: item {@code i} is the list of row {@code i} of each tensor
 * (views, no copy). A batch is gathered with one {@code indexSelect} per tensor.
 */
public final class TensorDataset implements BatchDataset<List<Tensor>> {

    private final List<Tensor> tensors;
    private final long size;

    /** A dataset over {@code tensors}, which must all have the same size in dim 0. */
    public TensorDataset(Tensor... tensors) {
        this(Arrays.asList(tensors));
    }

    /** A dataset over {@code tensors}, which must all have the same size in dim 0. */
    public TensorDataset(List<Tensor> tensors) {
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("TensorDataset: expected at least one tensor");
        }
        long n = -1;
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            if (t == null) {
                throw new NullPointerException("TensorDataset: tensor " + i + " is null");
            }
            if (t.dim() == 0) {
                throw new IllegalArgumentException("TensorDataset: tensor " + i + " is 0-dim; each tensor needs a"
                        + " first dim that indexes the samples");
            }
            if (n < 0) {
                n = t.size(0);
            } else if (t.size(0) != n) {
                StringBuilder sizes = new StringBuilder();
                for (Tensor u : tensors) {
                    sizes.append(sizes.length() == 0 ? "" : ", ").append(Arrays.toString(u.shape()));
                }
                throw new IllegalArgumentException("TensorDataset: size mismatch between tensors: all must have the"
                        + " same size in dim 0, got shapes " + sizes);
            }
        }
        this.tensors = List.copyOf(tensors);
        this.size = n;
    }

    /** The tensors, in the order given. */
    public List<Tensor> tensors() {
        return tensors;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public List<Tensor> get(long index) {
        Datasets.checkIndex("TensorDataset", index, size);
        List<Tensor> row = new ArrayList<>(tensors.size());
        for (Tensor t : tensors) {
            row.add(t.select(0, index));
        }
        return List.copyOf(row);
    }

    @Override
    public List<Tensor> getBatch(long[] indices) {
        for (long i : indices) {
            Datasets.checkIndex("TensorDataset", i, size);
        }
        Tensor idx = Tensor.of(indices);
        List<Tensor> batch = new ArrayList<>(tensors.size());
        for (Tensor t : tensors) {
            batch.add(t.indexSelect(0, idx.to(t.device())));
        }
        return List.copyOf(batch);
    }
}
