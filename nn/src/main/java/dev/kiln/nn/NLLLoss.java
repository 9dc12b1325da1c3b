package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * Negative log-likelihood of log-probabilities (a {@link LogSoftmax} output) at int64 class
 * indices, as {@code torch.nn.NLLLoss}: input {@code [N, C]}, {@code [N, C, d1, ...]} or
 * {@code [C]}, target {@code [N, d1, ...]}. Optional per-class {@code weight} (a buffer) and
 * {@code ignoreIndex} (default -100); the mean divides by the summed weights of the counted targets.
 */
public class NLLLoss extends Loss {

    private final Tensor weight;
    private final long ignoreIndex;

    public NLLLoss() {
        this(null, -100, Reduction.MEAN);
    }

    public NLLLoss(Reduction reduction) {
        this(null, -100, reduction);
    }

    /** {@code weight} may be null. */
    public NLLLoss(Tensor weight, long ignoreIndex, Reduction reduction) {
        super(reduction);
        this.weight = optionalBuffer("weight", weight);
        this.ignoreIndex = ignoreIndex;
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.nllLoss(input, target, weight, ignoreIndex, reduction());
    }

    /** The per-class weights, or null. */
    public Tensor weight() {
        return weight;
    }

    public long ignoreIndex() {
        return ignoreIndex;
    }
}
