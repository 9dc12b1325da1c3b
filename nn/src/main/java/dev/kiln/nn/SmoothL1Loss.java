package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * Smooth L1, as {@code torch.nn.SmoothL1Loss}: {@code 0.5 d^2 / beta} where {@code |d| < beta}, else
 * {@code |d| - 0.5 beta} (default {@code beta = 1}).
 */
public class SmoothL1Loss extends Loss {

    private final double beta;

    public SmoothL1Loss() {
        this(Reduction.MEAN, 1.0);
    }

    public SmoothL1Loss(Reduction reduction) {
        this(reduction, 1.0);
    }

    public SmoothL1Loss(Reduction reduction, double beta) {
        super(reduction);
        if (beta < 0) {
            throw new IllegalArgumentException("SmoothL1Loss: beta must be non-negative, got " + beta);
        }
        this.beta = beta;
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.smoothL1Loss(input, target, reduction(), beta);
    }
}
