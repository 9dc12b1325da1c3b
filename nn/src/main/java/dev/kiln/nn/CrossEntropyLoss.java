package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * Cross entropy of logits, as {@code torch.nn.CrossEntropyLoss}: a stable log-softmax over the
 * class dim then the negative log-likelihood. Input {@code [N, C]}, {@code [N, C, d1, ...]} or
 * {@code [C]}; target int64 class indices {@code [N, d1, ...]} or floating class probabilities of
 * the input's shape.
 *
 * <pre>{@code
 * CrossEntropyLoss criterion = new CrossEntropyLoss();
 * CrossEntropyLoss weighted = CrossEntropyLoss.builder().weight(classWeights).ignoreIndex(0).labelSmoothing(0.1).build();
 * }</pre>
 *
 * <p>Options, as PyTorch's: {@code weight} {@code [C]} rescales each class (a buffer);
 * {@code ignoreIndex} (default -100) marks targets that contribute nothing; {@code labelSmoothing}
 * in [0, 1] mixes the target with the uniform distribution. With indices the mean divides by the
 * summed weights of the counted targets; with probabilities by the number of samples.
 */
public class CrossEntropyLoss extends Loss {

    private final Tensor weight;
    private final long ignoreIndex;
    private final double labelSmoothing;

    /** Mean reduction, no weights, ignore index -100, no smoothing. */
    public CrossEntropyLoss() {
        this(builder());
    }

    public CrossEntropyLoss(Reduction reduction) {
        this(builder().reduction(reduction));
    }

    private CrossEntropyLoss(Builder b) {
        super(b.reduction);
        if (b.labelSmoothing < 0 || b.labelSmoothing > 1) {
            throw new IllegalArgumentException("CrossEntropyLoss: label_smoothing must be between 0 and 1, got "
                    + b.labelSmoothing);
        }
        this.weight = optionalBuffer("weight", b.weight);
        this.ignoreIndex = b.ignoreIndex;
        this.labelSmoothing = b.labelSmoothing;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.crossEntropy(input, target, weight, ignoreIndex, reduction(), labelSmoothing);
    }

    /** The per-class weights, or null. */
    public Tensor weight() {
        return weight;
    }

    public long ignoreIndex() {
        return ignoreIndex;
    }

    public double labelSmoothing() {
        return labelSmoothing;
    }

    /** Options of a {@link CrossEntropyLoss}. */
    public static final class Builder {
        private Tensor weight;
        private long ignoreIndex = -100;
        private double labelSmoothing;
        private Reduction reduction = Reduction.MEAN;

        private Builder() {
        }

        /** One weight per class, {@code [C]}. */
        public Builder weight(Tensor weight) {
            this.weight = weight;
            return this;
        }

        /** Targets equal to this contribute no loss and no gradient (default -100). */
        public Builder ignoreIndex(long ignoreIndex) {
            this.ignoreIndex = ignoreIndex;
            return this;
        }

        /** In [0, 1]: the target becomes {@code (1 - e) * target + e / C}. */
        public Builder labelSmoothing(double labelSmoothing) {
            this.labelSmoothing = labelSmoothing;
            return this;
        }

        public Builder reduction(Reduction reduction) {
            this.reduction = reduction;
            return this;
        }

        public CrossEntropyLoss build() {
            return new CrossEntropyLoss(this);
        }
    }
}
