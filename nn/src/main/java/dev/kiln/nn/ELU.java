package dev.kiln.nn;

import dev.kiln.Tensor;

/** {@code x} where positive, else {@code alpha * (exp(x) - 1)} (default alpha 1), as {@code torch.nn.ELU}. */
public class ELU extends Module {

    private final double alpha;

    /** {@code alpha = 1}. */
    public ELU() {
        this(1.0);
    }

    public ELU(double alpha) {
        this.alpha = alpha;
    }

    @Override
    public Tensor forward(Tensor x) {
        return x.elu(alpha);
    }

    @Override
    public String extraRepr() {
        return "alpha=" + Repr.pyFloat(alpha);
    }
}
