package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * Kullback-Leibler divergence, as {@code torch.nn.KLDivLoss}: the input holds log-probabilities,
 * the target probabilities (or log-probabilities with {@code logTarget}); pointwise
 * {@code t (log t - x)}, 0 where {@code t == 0}. As in PyTorch, {@link Reduction#MEAN} (the
 * default) averages over all elements; {@link Reduction#BATCHMEAN} divides the sum by the batch
 * size, which is the true KL divergence per sample.
 */
public class KLDivLoss extends Loss {

    private final boolean logTarget;

    public KLDivLoss() {
        this(Reduction.MEAN, false);
    }

    public KLDivLoss(Reduction reduction) {
        this(reduction, false);
    }

    public KLDivLoss(Reduction reduction, boolean logTarget) {
        super(reduction);
        this.logTarget = logTarget;
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.klDiv(input, target, reduction(), logTarget);
    }

    public boolean logTarget() {
        return logTarget;
    }
}
