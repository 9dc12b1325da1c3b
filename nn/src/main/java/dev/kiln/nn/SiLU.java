package dev.kiln.nn;

import dev.kiln.Tensor;

/** {@code x * sigmoid(x)} elementwise (swish), as {@code torch.nn.SiLU}. */
public class SiLU extends Module {

    @Override
    public Tensor forward(Tensor x) {
        return x.silu();
    }
}
