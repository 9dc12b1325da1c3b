package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * Huber loss, as {@code torch.nn.HuberLoss}: {@code 0.5 d^2} where {@code |d| < delta}, else
 * {@code delta (|d| - 0.5 delta)} (default {@code delta = 1}).
 */
public class HuberLoss extends Loss {

    private final double delta;

    public HuberLoss() {
        this(Reduction.MEAN, 1.0);
    }

    public HuberLoss(Reduction reduction) {
        this(reduction, 1.0);
    }

    public HuberLoss(Reduction reduction, double delta) {
        super(reduction);
        if (delta <= 0) {
            throw new IllegalArgumentException("HuberLoss: delta must be positive, got " + delta);
        }
        this.delta = delta;
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.huberLoss(input, target, reduction(), delta);
    }
}
