package dev.kiln.nn;

import dev.kiln.Tensor;

/** Softmax along {@code dim}, as {@code torch.nn.Softmax}. */
public class Softmax extends Module {

    private final int dim;

    public Softmax(int dim) {
        this.dim = dim;
    }

    @Override
    public Tensor forward(Tensor x) {
        return x.softmax(dim);
    }

    @Override
    public String extraRepr() {
        return "dim=" + dim;
    }
}
