package dev.kiln.nn;

import dev.kiln.Tensor;

/** Log-softmax along {@code dim}, stable for large inputs, as {@code torch.nn.LogSoftmax}. */
public class LogSoftmax extends Module {

    private final int dim;

    public LogSoftmax(int dim) {
        this.dim = dim;
    }

    @Override
    public Tensor forward(Tensor x) {
        return x.logSoftmax(dim);
    }

    @Override
    public String extraRepr() {
        return "dim=" + dim;
    }
}
