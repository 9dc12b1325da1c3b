package dev.kiln.nn;

import dev.kiln.Tensor;

/** The squared error {@code (input - target)^2}, reduced (mean by default), as {@code torch.nn.MSELoss}; shapes must match. */
public class MSELoss extends Loss {

    public MSELoss() {
        this(Reduction.MEAN);
    }

    public MSELoss(Reduction reduction) {
        super(reduction);
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.mseLoss(input, target, reduction());
    }
}
