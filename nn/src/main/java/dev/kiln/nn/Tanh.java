package dev.kiln.nn;

import dev.kiln.Tensor;

/** {@code tanh(x)} elementwise, as {@code torch.nn.Tanh}. */
public class Tanh extends Module {

    @Override
    public Tensor forward(Tensor x) {
        return x.tanh();
    }
}
