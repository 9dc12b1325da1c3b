package dev.kiln.samples.models;

import dev.kiln.Tensor;
import dev.kiln.nn.Conv2d;
import dev.kiln.nn.Linear;
import dev.kiln.nn.MaxPool2d;
import dev.kiln.nn.Module;

/**
 * The {@code cnn} sample's network: two Conv2d (3 x 3) + ReLU + MaxPool2d(2) blocks, then Linear
 * 1600-128-10; shapes 1x28x28 -> 32x13x13 -> 64x5x5 -> 1600 -> 128 -> 10. The performance
 * comparison's CNN workload measures this network.
 */
public final class FashionCnn extends Module {
    private final Conv2d conv1 = register("conv1", new Conv2d(1, 32, 3));
    private final Conv2d conv2 = register("conv2", new Conv2d(32, 64, 3));
    private final MaxPool2d pool = register("pool", new MaxPool2d(2));
    private final Linear fc1 = register("fc1", new Linear(1600, 128));
    private final Linear fc2 = register("fc2", new Linear(128, 10));

    @Override
    public Tensor forward(Tensor x) {
        x = pool.forward(conv1.forward(x).relu());
        x = pool.forward(conv2.forward(x).relu());
        return fc2.forward(fc1.forward(x.flatten(1, -1)).relu());
    }
}
