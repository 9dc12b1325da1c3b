package dev.kiln.nn;

import dev.kiln.Tensor;

/** {@code x} where positive, else {@code negativeSlope * x} (default 0.01), as {@code torch.nn.LeakyReLU}. */
public class LeakyReLU extends Module {

    private final double negativeSlope;

    /** Slope 0.01. */
    public LeakyReLU() {
        this(0.01);
    }

    public LeakyReLU(double negativeSlope) {
        this.negativeSlope = negativeSlope;
    }

    @Override
    public Tensor forward(Tensor x) {
        return x.leakyRelu(negativeSlope);
    }

    @Override
    public String extraRepr() {
        return "negative_slope=" + Repr.pyFloat(negativeSlope);
    }
}
