package dev.kiln.nn;

import dev.kiln.Tensor;

/** Returns its input, as {@code torch.nn.Identity}: a placeholder where a layer is optional. */
public class Identity extends Module {

    @Override
    public Tensor forward(Tensor x) {
        return x;
    }
}
