package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * Dropout, as {@code torch.nn.Dropout}: in training each element is zeroed with probability
 * {@code p} (drawn from the default generator, so {@code Kiln.manualSeed} makes it repeatable) and
 * the rest scaled by {@code 1 / (1 - p)}; in evaluation it is the identity.
 */
public class Dropout extends Module {

    private final double p;

    /** {@code p = 0.5}. */
    public Dropout() {
        this(0.5);
    }

    public Dropout(double p) {
        if (p < 0 || p > 1) {
            throw new IllegalArgumentException("Dropout: probability has to be between 0 and 1, but got " + p);
        }
        this.p = p;
    }

    @Override
    public Tensor forward(Tensor x) {
        return F.dropout(x, p, isTraining());
    }

    public double p() {
        return p;
    }

    @Override
    public String extraRepr() {
        return "p=" + Repr.pyFloat(p) + ", inplace=False";
    }
}
