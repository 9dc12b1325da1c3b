package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * The base of the loss modules: a loss compares an input with a target and reduces the result as
 * its {@link Reduction} says ({@link Reduction#MEAN} by default). Tensor options such as class
 * weights are buffers, so {@link #to(dev.kiln.Device)} moves them with the loss.
 *
 * <pre>{@code
 * Tensor loss = criterion.forward(outputs, targets);
 * }</pre>
 */
public abstract class Loss extends Module {

    private final Reduction reduction;

    protected Loss(Reduction reduction) {
        if (reduction == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": reduction must not be null");
        }
        if (reduction == Reduction.BATCHMEAN && !(this instanceof KLDivLoss)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": reduction batchmean is only for KLDivLoss");
        }
        this.reduction = reduction;
    }

    /** How the per-element losses are reduced. */
    public Reduction reduction() {
        return reduction;
    }

    /** The loss of {@code input} against {@code target}. */
    public abstract Tensor forward(Tensor input, Tensor target);

    /** A loss needs a target: this throws; call {@link #forward(Tensor, Tensor)}. */
    @Override
    public Tensor forward(Tensor x) {
        throw new UnsupportedOperationException(typeName() + " compares an input with a target: call forward(input, target)");
    }

    /** Registers an optional tensor option as a buffer; null stays unregistered. */
    Tensor optionalBuffer(String name, Tensor value) {
        return value == null ? null : registerBuffer(name, value);
    }
}
