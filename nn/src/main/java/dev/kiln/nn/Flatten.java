package dev.kiln.nn;

import dev.kiln.Tensor;

/** Flattens dims {@code startDim..endDim} into one (by default all but the batch dim), as {@code torch.nn.Flatten}. */
public class Flatten extends Module {

    private final int startDim;
    private final int endDim;

    /** {@code startDim = 1}, {@code endDim = -1}. */
    public Flatten() {
        this(1, -1);
    }

    public Flatten(int startDim) {
        this(startDim, -1);
    }

    public Flatten(int startDim, int endDim) {
        this.startDim = startDim;
        this.endDim = endDim;
    }

    @Override
    public Tensor forward(Tensor x) {
        return x.flatten(startDim, endDim);
    }

    @Override
    public String extraRepr() {
        return "start_dim=" + startDim + ", end_dim=" + endDim;
    }
}
