package dev.kiln.nn;

import dev.kiln.Tensor;

/** Splits dim {@code dim} into {@code sizes} (one may be -1), as {@code torch.nn.Unflatten}. */
public class Unflatten extends Module {

    private final int dim;
    private final long[] sizes;

    public Unflatten(int dim, long... sizes) {
        if (sizes.length == 0) {
            throw new IllegalArgumentException("Unflatten: unflattened_size must have at least one size");
        }
        this.dim = dim;
        this.sizes = sizes.clone();
    }

    @Override
    public Tensor forward(Tensor x) {
        return x.unflatten(dim, sizes);
    }

    @Override
    public String extraRepr() {
        return "dim=" + dim + ", unflattened_size=" + Repr.tuple(sizes);
    }
}
