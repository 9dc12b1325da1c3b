package dev.kiln.samples.models;

import dev.kiln.Tensor;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;

/**
 * The {@code mnist} sample's classifier (the contract's {@code MnistClassifier}): 28 x 28 images
 * flattened, Linear 784-128, ReLU, Linear 128-10. The performance comparison's MLP and inference
 * workloads measure this network.
 */
public final class FashionMlp extends Module {
    private final Linear fc1 = register("fc1", new Linear(28 * 28, 128));
    private final Linear fc2 = register("fc2", new Linear(128, 10));

    @Override
    public Tensor forward(Tensor x) {
        return fc2.forward(fc1.forward(x.view(-1, 28 * 28)).relu());
    }
}
