package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * Binary cross entropy of logits, as {@code torch.nn.BCEWithLogitsLoss}: a sigmoid and
 * {@link BCELoss} in one, computed stably ({@code (1 - t) x + (1 + (p - 1) t) softplus(-x)}), so
 * logits of any size give finite losses and gradients.
 *
 * <pre>{@code
 * BCEWithLogitsLoss criterion = BCEWithLogitsLoss.builder().posWeight(Tensor.of(3.0)).build();
 * }</pre>
 *
 * <p>{@code weight} broadcasts to the input; {@code posWeight} (the weight of positive examples,
 * one per class) broadcasts along the last dim. Both are buffers.
 */
public class BCEWithLogitsLoss extends Loss {

    private final Tensor weight;
    private final Tensor posWeight;

    public BCEWithLogitsLoss() {
        this(builder());
    }

    public BCEWithLogitsLoss(Reduction reduction) {
        this(builder().reduction(reduction));
    }

    private BCEWithLogitsLoss(Builder b) {
        super(b.reduction);
        this.weight = optionalBuffer("weight", b.weight);
        this.posWeight = optionalBuffer("pos_weight", b.posWeight);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Tensor forward(Tensor input, Tensor target) {
        return F.binaryCrossEntropyWithLogits(input, target, weight, posWeight, reduction());
    }

    /** The element weights, or null. */
    public Tensor weight() {
        return weight;
    }

    /** The positive-example weights, or null. */
    public Tensor posWeight() {
        return posWeight;
    }

    /** Options of a {@link BCEWithLogitsLoss}. */
    public static final class Builder {
        private Tensor weight;
        private Tensor posWeight;
        private Reduction reduction = Reduction.MEAN;

        private Builder() {
        }

        /** Weights that broadcast to the input. */
        public Builder weight(Tensor weight) {
            this.weight = weight;
            return this;
        }

        /** Weights of positive examples, broadcast along the last dim (one per class). */
        public Builder posWeight(Tensor posWeight) {
            this.posWeight = posWeight;
            return this;
        }

        public Builder reduction(Reduction reduction) {
            this.reduction = reduction;
            return this;
        }

        public BCEWithLogitsLoss build() {
            return new BCEWithLogitsLoss(this);
        }
    }
}
