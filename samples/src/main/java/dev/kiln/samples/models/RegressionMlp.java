package dev.kiln.samples.models;

import dev.kiln.Tensor;
import dev.kiln.nn.F;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;

/**
 * The {@code mlp-adam} sample's regressor: Linear in-hidden, ReLU, Linear hidden-out (10-100-1 in
 * the sample and the performance comparison).
 */
public final class RegressionMlp extends Module {
    private final Linear layer1;
    private final Linear layer2;

    public RegressionMlp(int in, int hidden, int out) {
        layer1 = register("layer1", new Linear(in, hidden));
        layer2 = register("layer2", new Linear(hidden, out));
    }

    @Override
    public Tensor forward(Tensor x) {
        return layer2.forward(F.relu(layer1.forward(x)));
    }
}
