package dev.kiln.nn;

import dev.kiln.Tensor;

/** The absolute error {@code |input - target|}, reduced (mean by default), as {@code torch.nn.L1Loss}; shapes must match. */
public class L1Loss extends Loss {

    public L1Loss() {
        this(Reduction.MEAN);
    }

    public L1Loss(Reduction reduction) {
        super(reduction);
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.l1Loss(input, target, reduction());
    }
}
