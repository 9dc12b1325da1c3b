package dev.kiln.integration;

import dev.kiln.Tensor;
import dev.kiln.nn.BatchNorm2d;
import dev.kiln.nn.Conv2d;
import dev.kiln.nn.Dropout;
import dev.kiln.nn.Flatten;
import dev.kiln.nn.Linear;
import dev.kiln.nn.MaxPool2d;
import dev.kiln.nn.Module;
import dev.kiln.nn.ReLU;
import dev.kiln.nn.Sequential;

/** The architectures of {@code tools/fixtures/interop.py}, in Kiln, with the same state-dict keys. */
final class Models {

    private Models() {
    }

    /** PyTorch's {@code MLP}: fc1 = Linear(8, 16), fc2 = Linear(16, 4); fc2(relu(fc1(x))). */
    static final class Mlp extends Module {
        final Linear fc1 = register("fc1", new Linear(8, 16));
        final Linear fc2 = register("fc2", new Linear(16, 4));

        @Override
        public Tensor forward(Tensor x) {
            return fc2.forward(fc1.forward(x).relu());
        }
    }

    /** PyTorch's {@code cnn()}: Conv2d, BatchNorm2d, ReLU, MaxPool2d, Flatten, Linear as a Sequential. */
    static Sequential cnn() {
        return new Sequential(new Conv2d(3, 4, 3, 1, 1), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Linear(4 * 4 * 4, 5));
    }

    static Module of(String kind) {
        return switch (kind) {
            case "mlp" -> new Mlp();
            case "cnn" -> cnn();
            default -> throw new IllegalArgumentException(kind);
        };
    }

    static long[] inputShape(String kind) {
        return kind.equals("mlp") ? new long[] {6, 8} : new long[] {2, 3, 8, 8};
    }

    /** A small classifier with dropout, for the resume test. */
    static Sequential classifier() {
        return new Sequential(new Linear(6, 16), new ReLU(), new Dropout(0.3), new Linear(16, 3));
    }
}
