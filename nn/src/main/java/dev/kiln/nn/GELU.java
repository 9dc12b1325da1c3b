package dev.kiln.nn;

import dev.kiln.Tensor;

/** GELU, as {@code torch.nn.GELU}: exact ({@code x * Phi(x)} through erf) by default, or the tanh approximation. */
public class GELU extends Module {

    private final String approximate;

    /** The exact form. */
    public GELU() {
        this("none");
    }

    /** {@code approximate} is {@code "none"} (exact) or {@code "tanh"}. */
    public GELU(String approximate) {
        if (!approximate.equals("none") && !approximate.equals("tanh")) {
            throw new IllegalArgumentException("GELU: approximate must be \"none\" or \"tanh\", got \"" + approximate + "\"");
        }
        this.approximate = approximate;
    }

    @Override
    public Tensor forward(Tensor x) {
        return F.gelu(x, approximate);
    }

    @Override
    public String extraRepr() {
        return "approximate='" + approximate + "'";
    }
}
