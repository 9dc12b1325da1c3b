package dev.kiln.nn;

import dev.kiln.Tensor;

/** {@code max(x, 0)} elementwise, as {@code torch.nn.ReLU}. */
public class ReLU extends Module {

    @Override
    public Tensor forward(Tensor x) {
        return x.relu();
    }
}
