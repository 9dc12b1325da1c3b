package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * Binary cross entropy of probabilities in [0, 1] (a {@link Sigmoid} output), as
 * {@code torch.nn.BCELoss}: {@code -w (t log x + (1 - t) log(1 - x))} with each log clamped at
 * -100. Prefer {@link BCEWithLogitsLoss} on logits, which is stable. Optional {@code weight}
 * (a buffer) broadcasts to the input.
 */
public class BCELoss extends Loss {

    private final Tensor weight;

    public BCELoss() {
        this(null, Reduction.MEAN);
    }

    public BCELoss(Reduction reduction) {
        this(null, reduction);
    }

    /** {@code weight} may be null. */
    public BCELoss(Tensor weight, Reduction reduction) {
        super(reduction);
        this.weight = optionalBuffer("weight", weight);
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.binaryCrossEntropy(input, target, weight, reduction());
    }

    /** The element weights, or null. */
    public Tensor weight() {
        return weight;
    }
}
